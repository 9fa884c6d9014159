# Independent fixtures for the growth-model fits of package kinetics (FitLogistic, FitGompertz and
# the fits in Compute), computed with base R's nls() (Gauss-Newton) at tight tolerance.
# Run from kinetics/testdata:  Rscript growthfits.R   (writes growthfits.csv and windows.csv)
# The R version used is recorded in the first comment line of the output.
#
# Both models are fitted by least squares on ln N (counting error is multiplicative, domain.md §5.3),
# in the parameterisation package kinetics reports:
#   logistic  ln N = ln( k / (1 + ((k - n0)/n0) exp(-mu t)) )                      params n0, mu, k
#   gompertz  ln N = ln n0 + a exp(-exp(mu_m e (lambda - t)/a + 1))  (Zwietering 1990) params n0, a, mu_m, lambda
# Standard errors are those of summary(nls): s^2 (J'J)^-1 with s^2 = RSS/(n - p).
#
# Each fit is started from several points (a heuristic written here, not the Go one) and the
# converged fit with the smallest residual sum of squares is kept; a series where no start
# converges is written with status "error" and R's message. Status "too_few" marks series with
# fewer than p + 2 points, which package kinetics refuses (domain.md §5.3); R is not asked.

options(digits = 17)
# nls stops when its relative-offset convergence measure (the part of the residual vector in the
# tangent plane over the part orthogonal to it) falls below tol. At these optima that measure
# bottoms out in rounding at about 1e-11..1e-8, so tol = 1e-10 is not always met exactly: the
# fits run with warnOnly and count as converged when the measure is at most 1e-6 (nls's default
# tol is 1e-5). The estimates then agree with the exact optimum to far better than the 1e-4
# relative tolerance of the Go tests; the measure reached is written in column r_conv.
ctl <- nls.control(tol = 1e-10, maxiter = 1000, minFactor = 1e-12, warnOnly = TRUE)
conv_ok <- 1e-6

logistic_starts <- function(t, y) {
  slope <- max(diff(y) / diff(t))
  if (!(slope > 0)) slope <- 0.1
  s <- list()
  for (f in c(1, 0.5, 2)) for (kk in c(0, 0.5))
    s[[length(s) + 1]] <- list(n0 = exp(y[1]), mu = f * slope, k = exp(max(y) + kk))
  s
}

gompertz_starts <- function(t, y) {
  d <- diff(y) / diff(t)
  i <- which.max(d)
  slope <- d[i]
  if (!(slope > 0)) slope <- 0.1
  a <- max(max(y) - y[1], 0.1)
  tm <- (t[i] + t[i + 1]) / 2; ym <- (y[i] + y[i + 1]) / 2
  lam <- tm - (ym - y[1]) / slope
  s <- list()
  for (f in c(1, 0.5, 2)) for (aa in c(1, 1.2))
    s[[length(s) + 1]] <- list(n0 = exp(y[1]), a = aa * a, mu_m = f * slope, lambda = lam)
  s
}

# The models with their analytic gradients (deriv()): with nls's default forward-difference
# gradient its convergence measure stalls near 1e-8, too coarse for a tight test.
logistic_model <- deriv(~ log(k / (1 + ((k - n0) / n0) * exp(-mu * t))), c("n0", "mu", "k"),
                        function(n0, mu, k, t) {})
gompertz_model <- deriv(~ log(n0) + a * exp(-exp(mu_m * exp(1) * (lambda - t) / a + 1)),
                        c("n0", "a", "mu_m", "lambda"), function(n0, a, mu_m, lambda, t) {})

fit_model <- function(model, t, cells) {
  y <- log(cells)
  d <- data.frame(t = t, y = y)
  if (model == "logistic") {
    form <- y ~ logistic_model(n0, mu, k, t)
    starts <- logistic_starts(t, y)
  } else {
    form <- y ~ gompertz_model(n0, a, mu_m, lambda, t)
    starts <- gompertz_starts(t, y)
  }
  best <- NULL; msg <- ""
  for (s in starts) {
    f <- tryCatch(suppressWarnings(nls(form, data = d, start = s, control = ctl)), error = function(e) e)
    if (inherits(f, "error")) { msg <- conditionMessage(f); next }
    if (!(f$convInfo$finTol <= conv_ok)) { msg <- f$convInfo$stopMessage; next }
    if (is.null(best) || deviance(f) < deviance(best)) best <- f
  }
  if (is.null(best)) return(list(status = "error", msg = msg))
  s <- summary(best)
  list(status = "ok", est = s$coefficients[, 1], se = s$coefficients[, 2], sigma = s$sigma, n = length(t),
       conv = best$convInfo$finTol)
}

fmt <- function(x) formatC(x, digits = 17, format = "g")
ver <- paste("# R", R.version$major, ".", R.version$minor, sep = "")
out <- c(ver, "name,model,status,n,days,cells,estimates,std_errors,residual_sd,r_conv,message")
add <- function(name, t, cells) {
  for (model in c("logistic", "gompertz")) {
    p <- if (model == "logistic") 3 else 4
    row <- c(name, model)
    if (length(t) < p + 2) {
      row <- c(row, "too_few", length(t), paste(t, collapse = " "), paste(fmt(cells), collapse = " "), "", "", "", "", "")
    } else {
      r <- fit_model(model, t, cells)
      if (r$status == "ok") {
        row <- c(row, "ok", r$n, paste(t, collapse = " "), paste(fmt(cells), collapse = " "),
                 paste(fmt(r$est), collapse = " "), paste(fmt(r$se), collapse = " "), fmt(r$sigma),
                 fmt(r$conv), "")
      } else {
        row <- c(row, "error", length(t), paste(t, collapse = " "), paste(fmt(cells), collapse = " "), "", "", "", "",
                 gsub(",", ";", r$msg))
      }
    }
    out <<- c(out, paste(row, collapse = ","))
  }
}

# A clean sigmoid NK series: lag to day 2, exponential growth, plateau from about day 17
# (9 counts over 21 days, typed by hand so that neither model fits exactly).
add("sigmoid", c(0, 2, 4, 6, 8, 11, 14, 17, 21),
    c(1.0e6, 1.15e6, 2.4e6, 7.9e6, 2.45e7, 8.8e7, 1.72e8, 2.31e8, 2.52e8))
# A noisy series of the demo's shape: a few counts over 14 days.
add("noisy", c(0, 3, 5, 7, 10, 14),
    c(2.0e5, 3.1e5, 1.3e6, 2.2e6, 9.8e6, 1.45e7))
# The demo's counting days (0, 4, 7, 10, 14): enough for the logistic, too short for Gompertz.
add("short", c(0, 4, 7, 10, 14),
    c(1.5e5, 6.0e5, 2.9e6, 8.1e6, 1.2e7))
# No growth: counts scatter around the seed.
add("flat", c(0, 3, 7, 10, 14, 17),
    c(1.0e6, 0.93e6, 1.05e6, 0.97e6, 1.02e6, 0.95e6))

# Growth that does not slow (ln N convex), from the demo data: no plateau to fit.
add("accelerating", c(0, 4, 7, 10, 14, 17, 21),
    c(2.6e6, 2.71e6, 3.55e6, 4.5e6, 5.74e6, 7.14e6, 1.33e7))

# The virtual NK totals of the cultures of kinetics.R (cultures.csv), seed at day 0 first:
# Compute fits these. virtual() is the fold across splits of kinetics.R, written again here.
virtual <- function(seed, h, k) {
  fold <- numeric(length(h)); cum <- 1; s <- seed
  for (i in seq_along(h)) {
    fold[i] <- cum * h[i] / s
    if (k[i] < 1) { cum <- fold[i]; s <- h[i] * k[i] }
  }
  fold
}
series <- list()
nk_series <- function(name, seed, nk0, day, viable, nkf, kept) {
  cells <- seed * nk0 * c(1, virtual(seed * nk0, viable * nkf, kept))
  series[[name]] <<- list(day = c(0, day), cells = cells)
  add(name, c(0, day), cells)
}
nk_series("lagplateau", 1e6, 0.2, c(2, 4, 6, 8, 10, 12, 14),
          c(0.9e6, 1.6e6, 4.4e6, 1.3e7, 3.5e7, 5.2e7, 5.6e7),
          c(0.22, 0.35, 0.55, 0.70, 0.82, 0.86, 0.88), rep(1, 7))
nk_series("splits", 2e6, 0.15, c(4, 7, 11, 14, 18, 21),
          c(6.0e6, 1.9e7, 2.4e7, 6.1e7, 5.5e7, 1.3e8),
          c(0.30, 0.52, 0.70, 0.81, 0.88, 0.91), c(1, 0.25, 1, 0.2, 1, 1))
# Culture ZGZ-C0001 of growth.csv (the Growth golden file): seeded on its day-0 row.
nk_series("growth_zgz", 1e6, 0.20, c(3, 7, 10, 14, 17, 21),
          c(1.4e6, 9.8e6, 2.1e7, 5.2e7, 3.0e7, 4.1e7),
          c(31, 55, 71, 83, 88, 90) / 100, c(1, 0.5, 1, 0.25, 1, 1))
writeLines(out, "growthfits.csv")

# Doubling times over given windows (Options.Window) of the same NK series: lm(log N ~ day) on
# the points from day `from` to day `to` inclusive, with the t-interval of domain.md §5.2.
win <- c(ver, "name,from,to,first,last,points,mu,se,td,low,high,r2")
window <- function(name, from, to) {
  s <- series[[name]]; keep <- s$day >= from & s$day <= to
  d <- s$day[keep]; m <- lm(log(s$cells[keep]) ~ d); sm <- summary(m)
  mu <- unname(coef(m)[2]); se <- sm$coefficients[2, 2]; q <- qt(0.975, df = length(d) - 2)
  hi <- if (mu - q * se > 0) log(2) / (mu - q * se) else NA
  win <<- c(win, paste(name, from, to, min(d), max(d), length(d),
                       paste(fmt(c(mu, se, log(2) / mu, log(2) / (mu + q * se), hi, sm$r.squared)), collapse = ","),
                       sep = ","))
}
window("lagplateau", 2, 8)     # not the automatic choice (days 4..10, faster)
window("lagplateau", 0, 14)    # the whole culture, seed included (R^2 below 0.98)
window("splits", 5, 20)        # bounds between counts: days 7..18
writeLines(win, "windows.csv")

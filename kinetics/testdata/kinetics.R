# Independent fixtures for package kinetics, computed with R's lm().
# Run from kinetics/testdata:  Rscript kinetics.R   (writes doubling.csv and cultures.csv)
# R version used is recorded in the first comment line of each output file.

options(digits = 17)

fit <- function(day, cells) {
  m <- lm(log(cells) ~ day)
  s <- summary(m)
  mu <- unname(coef(m)[2]); se <- s$coefficients[2, 2]
  q <- qt(0.975, df = length(day) - 2)
  lo_mu <- mu - q * se; hi_mu <- mu + q * se
  c(mu = mu, se = se, td = log(2) / mu, low = log(2) / hi_mu,
    high = if (lo_mu > 0) log(2) / lo_mu else NA, r2 = s$r.squared)
}

# Window rule of domain.md §5.2, written again from the text: every run of >= minp consecutive
# points with R^2 >= minr2; if any has >= pref points only those count; largest mu; ties to
# the longer window, then the earlier.
best_window <- function(day, cells, minp = 3, pref = 4, minr2 = 0.98) {
  n <- length(day); cand <- NULL
  for (i in 1:n) for (j in i:n) {
    if (j - i + 1 < minp) next
    f <- fit(day[i:j], cells[i:j])
    if (f["r2"] >= minr2) cand <- rbind(cand, c(i = i, j = j, len = j - i + 1, f))
  }
  if (is.null(cand)) return(NULL)
  cand <- as.data.frame(cand)
  if (any(cand$len >= pref)) cand <- cand[cand$len >= pref, ]
  cand <- cand[order(-cand$mu, -cand$len, cand$i), ]
  cand[1, ]
}

# Virtual totals across splits (domain.md §5.1): passage i seeded with S_i ends with H_i;
# kept fraction k < 1 reseeds S_{i+1} = H_i * k; k = 1 continues the passage.
virtual <- function(seed, h, k) {
  fold <- numeric(length(h)); cum <- 1; s <- seed
  for (i in seq_along(h)) {
    fold[i] <- cum * h[i] / s
    if (k[i] < 1) { cum <- fold[i]; s <- h[i] * k[i] }
  }
  fold
}

ver <- paste("# R", R.version$major, ".", R.version$minor, sep = "")
fmt <- function(x) ifelse(is.na(x), "NA", formatC(x, digits = 17, format = "g"))
out <- c(ver, "name,days,cells,mu,se,td,low,high,r2")
add <- function(name, day, cells) {
  f <- fit(day, cells)
  out <<- c(out, paste(name, paste(day, collapse = " "), paste(fmt(cells), collapse = " "),
                       paste(fmt(f), collapse = ","), sep = ","))
}
# domain.md §5.2 worked example.
add("example52", c(2, 4, 6, 8), c(1.5e6, 4.1e6, 1.2e7, 3.3e7))
# A noisy five-point growth phase.
add("noisy5", c(3, 5, 7, 10, 12), c(2.1e6, 5.0e6, 1.45e7, 6.9e7, 1.6e8))
# A window whose upper confidence limit on Td is unbounded (mu_low <= 0).
add("unbounded", c(0, 1, 2), c(1e6, 3e6, 1.5e6))
writeLines(out, "doubling.csv")

# Cultures for Compute: seed, NK fraction at seeding, counts with NK fraction and kept fraction.
cult <- c(ver, "name,day,viable,nkfrac,kept,fold_total,fold_nk,pd_nk,nk_yield,basis,from,to,mu,se,td,low,high,r2")
culture <- function(name, seed, nk0, day, viable, nkf, kept) {
  ft <- virtual(seed, viable, kept)
  fn <- virtual(seed * nk0, viable * nkf, kept)
  yield <- seed * nk0 * fn
  w <- best_window(c(0, day), c(seed * nk0, yield))
  for (i in seq_along(day)) {
    cult <<- c(cult, paste(name, day[i], fmt(viable[i]), fmt(nkf[i]), fmt(kept[i]), fmt(ft[i]),
                           fmt(fn[i]), fmt(log2(fn[i])), fmt(yield[i]), "nk",
                           c(0, day)[w$i], c(0, day)[w$j],
                           paste(fmt(unlist(w[c("mu", "se", "td", "low", "high", "r2")])), collapse = ","),
                           sep = ","))
  }
}
# Lag, exponential phase and plateau in one passage (no splits).
culture("lagplateau", 1e6, 0.2, c(2, 4, 6, 8, 10, 12, 14),
        c(0.9e6, 1.6e6, 4.4e6, 1.3e7, 3.5e7, 5.2e7, 5.6e7),
        c(0.22, 0.35, 0.55, 0.70, 0.82, 0.86, 0.88), rep(1, 7))
# Weekly splits with NK purity rising, counts twice a week.
culture("splits", 2e6, 0.15, c(4, 7, 11, 14, 18, 21),
        c(6.0e6, 1.9e7, 2.4e7, 6.1e7, 5.5e7, 1.3e8),
        c(0.30, 0.52, 0.70, 0.81, 0.88, 0.91), c(1, 0.25, 1, 0.2, 1, 1))
writeLines(cult, "cultures.csv")

# fits.R: expected values for the cytotox tests, computed independently with R's nls.
#
# R version 4.2.2 Patched (2022-11-10 r83330), base stats::nls with algorithm "port" (bounds
# a in (0, 1], k > 0 for the exponential; c, h > 0 for the 4PL) and
# nls.control(tol = 1e-10, maxiter = 1000); jsonlite only writes the plate JSON.
# Run from this folder:
#   cd cytotox/testdata && Rscript fits.R
# It reads the committed datasets (exp_*.csv, fourpl_*.csv: et,lysis_pct; plate_*.csv:
# sample,well_type,et_ratio,value) and writes exp_expected.csv, fourpl_expected.csv and
# plate_*.json. Lytic units are per 10^7 effectors for 5,000 targets (domain.md §6.5):
# LU_X = 1e7 / (5000 * x_X), x_X = -log(1 - X/a)/k, NA when X >= a.
suppressPackageStartupMessages(library(jsonlite))
ctl <- nls.control(tol = 1e-10, maxiter = 1000)
targets <- 5000

lu_exp <- function(a, k, X) if (X >= a) NA else 1e7 / (targets * (-log(1 - X / a) / k))
lu_4pl <- function(b, t, c, h, X) if (!(b < X && X < t)) NA else 1e7 / (targets * c * ((X - b) / (t - X))^(1 / h))

# fit_exp fits y = a(1 - exp(-k x)) to fractions y from the start values of domain.md §6.5.
fit_exp <- function(x, y) {
  a0 <- min(1, 1.05 * max(y))
  x1 <- min(x); y1 <- mean(y[x == x1])
  k0 <- -log(1 - y1 / a0) / x1
  f <- nls(y ~ a * (1 - exp(-k * x)), start = list(a = a0, k = k0), algorithm = "port",
           lower = c(1e-12, 1e-12), upper = c(1, Inf), control = ctl)
  s <- summary(f)
  a <- unname(coef(f)["a"]); k <- unname(coef(f)["k"]); bound <- a >= 1
  list(a = a, k = k, a_se = if (bound) NA else s$coefficients["a", "Std. Error"],
       k_se = s$coefficients["k", "Std. Error"], residual_sd = s$sigma, n = length(x),
       at_bound = bound, lu20 = lu_exp(a, k, 0.2), lu30 = lu_exp(a, k, 0.3))
}

# Exponential fits.
rows <- list()
for (name in c("exp_worked", "exp_plateau", "exp_noisy", "exp_bound")) {
  d <- read.csv(paste0(name, ".csv"))
  r <- fit_exp(d$et, d$lysis_pct / 100)
  rows[[name]] <- data.frame(dataset = name, r)
}
write.csv(do.call(rbind, rows), "exp_expected.csv", row.names = FALSE, quote = FALSE)

# 4PL fits.
rows <- list()
for (name in c("fourpl_sigmoid")) {
  d <- read.csv(paste0(name, ".csv"))
  x <- d$et; y <- d$lysis_pct / 100
  f <- nls(y ~ b + (t - b) / (1 + (c / x)^h), start = list(b = 0.05, t = 0.8, c = 4, h = 1.5),
           algorithm = "port", lower = c(-Inf, -Inf, 1e-12, 1e-12), control = ctl)
  s <- summary(f); p <- coef(f); se <- s$coefficients[, "Std. Error"]
  rows[[name]] <- data.frame(dataset = name, n = length(x), b = p[["b"]], t = p[["t"]], c = p[["c"]], h = p[["h"]],
    b_se = se[["b"]], t_se = se[["t"]], c_se = se[["c"]], h_se = se[["h"]], residual_sd = s$sigma,
    lu20 = lu_4pl(p[["b"]], p[["t"]], p[["c"]], p[["h"]], 0.2), lu30 = lu_4pl(p[["b"]], p[["t"]], p[["c"]], p[["h"]], 0.3))
}
write.csv(do.call(rbind, rows), "fourpl_expected.csv", row.names = FALSE, quote = FALSE)

# analyze_plate mirrors the rules of cytotox.AnalyzePlate (default QC thresholds): shared "*"
# controls unless the sample has its own; replicate lysis 100 (v - S)/(M - S); QC flags;
# the exponential fit on point means of the points QC keeps; LU20/LU30 unless no fitted point
# lies within 20-80 % lysis.
analyze_plate <- function(file) {
  d <- read.csv(file, colClasses = c("character", "character", "numeric", "numeric"))
  ctrl <- function(s, type) {
    v <- d$value[d$sample == s & d$well_type == type]
    if (length(v)) v else d$value[d$sample == "*" & d$well_type == type]
  }
  lapply(unique(d$sample[d$sample != "*"]), function(s) {
    S <- mean(ctrl(s, "spontaneous")); M <- mean(ctrl(s, "maximum")); spont <- 100 * S / M
    qc <- character(0); valid <- TRUE
    if (M <= S) {
      qc <- c(qc, "maximum_not_above_spontaneous"); valid <- FALSE
    } else {
      if (S > 0 && M / S < 3) qc <- c(qc, "dynamic_range_low")
      if (spont > 30) {
        qc <- c(qc, "spontaneous_release_warning", "spontaneous_release_high")
      } else if (spont > 20) {
        qc <- c(qc, "spontaneous_release_warning")
      }
    }
    out <- list(sample = s, spontaneous_release_pct = spont, points = list(), fit = NULL,
                lu20_per_1e7 = NULL, lu30_per_1e7 = NULL)
    if (valid) {
      t <- d[d$sample == s & d$well_type == "test", ]
      ets <- sort(unique(t$et_ratio)); fx <- c(); fy <- c(); in2080 <- FALSE
      for (e in ets) {
        v <- t$value[t$et_ratio == e]; n <- length(v)
        L <- 100 * (v - S) / (M - S); m <- mean(L)
        out$points[[length(out$points) + 1]] <- list(et_ratio = e, mean_lysis_pct = m,
          sd_lysis_pct = if (n > 1) sd(L) else NULL, n = n)
        cv <- if (n > 1) 100 * sd(v) / abs(mean(v)) else NA
        keep <- TRUE
        if (!is.na(cv) && cv > 15) qc <- c(qc, paste0("replicate_cv_high:et=", e))
        if (!is.na(cv) && cv > 20) { qc <- c(qc, paste0("excluded_from_fit:et=", e)); keep <- FALSE }
        if (m < 0 || m > 100) qc <- c(qc, paste0("lysis_out_of_range:et=", e))
        if (keep) { fx <- c(fx, e); fy <- c(fy, m / 100); in2080 <- in2080 || (m >= 20 && m <= 80) }
      }
      if (length(fx) < 3) {
        qc <- c(qc, "too_few_points")
      } else {
        f <- fit_exp(fx, fy)
        out$fit <- list(a = f$a, k = f$k, a_se = if (is.na(f$a_se)) NULL else f$a_se, k_se = f$k_se,
                        residual_sd = f$residual_sd, n = f$n, at_bound = f$at_bound)
        if (f$a <= 0.2) qc <- c(qc, "plateau_below_20")
        if (f$a <= 0.3) qc <- c(qc, "plateau_below_30")
        lu <- c(f$lu20, f$lu30)
        if (!in2080 && any(!is.na(lu))) qc <- c(qc, "no_point_within_20_80")  # a warning: LU kept
        if (!is.na(lu[1])) out$lu20_per_1e7 <- lu[1]
        if (!is.na(lu[2])) out$lu30_per_1e7 <- lu[2]
      }
    }
    out$qc <- I(qc)
    out
  })
}

for (name in c("plate_contract", "plate_spont25", "plate_spont35", "plate_s_above_m")) {
  j <- toJSON(list(samples = analyze_plate(paste0(name, ".csv"))), auto_unbox = TRUE, digits = NA,
              null = "null", na = "null", pretty = TRUE)
  writeLines(j, paste0(name, ".json"))
}

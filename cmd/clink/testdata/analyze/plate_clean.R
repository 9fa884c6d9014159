# plate_clean.R: the clean plate of the `clink analyze cytotox` tests and what R expects of it.
#
# R 4.2.2 Patched (2022-11-10 r83330), base stats::nls (algorithm "port", a in (0, 1], k > 0,
# nls.control(tol = 1e-10, maxiter = 1000)) and jsonlite 1.8.4. Run from this folder:
#     cd cmd/clink/testdata/analyze && Rscript plate_clean.R
#
# plate_clean.csv: shared controls S = 99, 100, 101 and M = 1099, 1100, 1101 (spontaneous release
# 100 x 100/1100 = 9.09 %, M/S = 11), and one sample NK-X whose triplicates at E:T 1.25 ... 20
# average 100 + 1000 y(E:T) (1 + e), y = 0.8 (1 - exp(-0.15 E:T)) and e a fixed deviation of a few
# percent (so that the fit has residuals and its standard errors mean something), written to 6
# decimals. No QC rule of domain.md §6.3 applies, so `qc` must be an empty list.
# plate_clean.json: lysis per point (domain.md §6.1), the exponential fit on the point means
# (§6.5) and LU20, LU30 per 10^7 effectors for 5,000 targets: LU_X = 1e7 k / (-5000 ln(1 - X/a)).
suppressPackageStartupMessages(library(jsonlite))

et <- c(1.25, 2.5, 5, 10, 20)
y <- 0.8 * (1 - exp(-0.15 * et)) * (1 + c(0.02, -0.015, 0.01, -0.02, 0.005))
rows <- data.frame(sample = c(rep("*", 6), rep("NK-X", 15)),
                   well_type = c(rep("spontaneous", 3), rep("maximum", 3), rep("test", 15)),
                   et_ratio = c(rep("", 6), rep(sprintf("%g", et), each = 3)),
                   value = c(sprintf("%g", c(99, 100, 101, 1099, 1100, 1101)),
                             sprintf("%.6f", rep(100 + 1000 * y, each = 3) + rep(c(-1, 0, 1), 5))))
write.csv(rows, "plate_clean.csv", row.names = FALSE, quote = FALSE)

d <- read.csv("plate_clean.csv")
S <- mean(d$value[d$well_type == "spontaneous"])
M <- mean(d$value[d$well_type == "maximum"])
points <- lapply(et, function(e) {
  L <- 100 * (d$value[d$well_type == "test" & d$et_ratio == e] - S) / (M - S)
  list(et_ratio = e, mean_lysis_pct = mean(L), sd_lysis_pct = sd(L), n = length(L))
})
m <- sapply(points, function(p) p$mean_lysis_pct) / 100
a0 <- min(1, 1.05 * max(m)); k0 <- -log(1 - m[1] / a0) / et[1]
f <- nls(m ~ a * (1 - exp(-k * et)), start = list(a = a0, k = k0), algorithm = "port",
         lower = c(1e-12, 1e-12), upper = c(1, Inf), control = nls.control(tol = 1e-10, maxiter = 1000))
s <- summary(f)
a <- unname(coef(f)["a"]); k <- unname(coef(f)["k"])
lu <- function(X) 1e7 * k / (-5000 * log(1 - X / a))
sample <- list(sample = "NK-X", spontaneous_release_pct = 100 * S / M, points = points,
               fit = list(a = a, k = k, a_se = s$coefficients["a", "Std. Error"],
                          k_se = s$coefficients["k", "Std. Error"], residual_sd = s$sigma,
                          n = length(et), at_bound = a >= 1),
               lu20_per_1e7 = lu(0.2), lu30_per_1e7 = lu(0.3), qc = I(character(0)))
writeLines(toJSON(list(samples = list(sample)), auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "plate_clean.json")

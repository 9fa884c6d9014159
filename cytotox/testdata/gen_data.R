# gen_data.R: how the synthetic datasets in this folder were made (R 4.2.2). The committed CSV
# files are the fixtures; this script only documents their origin and need not be re-run.
#   cd cytotox/testdata && Rscript gen_data.R
set.seed(20261125)
expo <- function(x, a, k) a * (1 - exp(-k * x))
w <- function(df, file) write.csv(df, file, row.names = FALSE, quote = FALSE)

# §6.5 worked example (domain.md): lysis as printed.
w(data.frame(et = c(1.25, 2.5, 5, 10, 20), lysis_pct = c(12.5, 23.3, 40.6, 62.9, 81.8)), "exp_worked.csv")

# Plateau below 30 %: a = 0.26, k = 0.18, noise SD 1.2 % lysis.
x <- c(1.25, 2.5, 5, 10, 20, 40)
w(data.frame(et = x, lysis_pct = round(100 * expo(x, 0.26, 0.18) + rnorm(6, 0, 1.2), 1)), "exp_plateau.csv")

# Noisy realistic triplicates: a = 0.78, k = 0.21, noise SD 3.5 % lysis.
x <- rep(c(0.625, 1.25, 2.5, 5, 10, 20), each = 3)
w(data.frame(et = x, lysis_pct = round(100 * expo(x, 0.78, 0.21) + rnorm(18, 0, 3.5), 1)), "exp_noisy.csv")

# Still rising at 20:1: the unconstrained plateau exceeds 100 % (a = 1.3, k = 0.04).
x <- c(1.25, 2.5, 5, 10, 20)
w(data.frame(et = x, lysis_pct = round(100 * expo(x, 1.3, 0.04) + rnorm(5, 0, 1), 1)), "exp_bound.csv")

# Sigmoid for the 4PL: b = 0.04, t = 0.82, c = 4, h = 1.6, noise SD 1.2 % lysis.
x <- c(0.3125, 0.625, 1.25, 2.5, 5, 10, 20, 40)
y <- 0.04 + (0.82 - 0.04) / (1 + (4 / x)^1.6)
w(data.frame(et = x, lysis_pct = round(100 * y + rnorm(8, 0, 1.2), 1)), "fourpl_sigmoid.csv")

# Plates in the `clink analyze cytotox` format: sample,well_type,et_ratio,value (cpm).
plate <- function(S, M, samples, cv = 0.05) {
  rows <- list(
    data.frame(sample = "*", well_type = "spontaneous", et_ratio = "", value = round(S * exp(rnorm(3, 0, 0.03)))),
    data.frame(sample = "*", well_type = "maximum", et_ratio = "", value = round(M * exp(rnorm(3, 0, 0.03)))))
  for (s in names(samples)) {
    p <- samples[[s]]
    for (e in c(1.25, 2.5, 5, 10, 20)) {
      v <- S + expo(e, p[1], p[2]) * (M - S)
      rows[[length(rows) + 1]] <- data.frame(sample = s, well_type = "test", et_ratio = e, value = round(v * exp(rnorm(3, 0, cv))))
    }
  }
  do.call(rbind, rows)
}
contract <- plate(300, 2500, list("NK-A" = c(0.88, 0.13), "NK-B" = c(0.27, 0.2)))
# Spread two points by hand: NK-A at 5:1 beyond the 20 % CV exclusion limit, NK-B at 2.5:1
# between the 15 % warning and the 20 % limit.
contract$value[contract$sample == "NK-A" & contract$et_ratio == 5] <- c(900, 1260, 1500)
contract$value[contract$sample == "NK-B" & contract$et_ratio == 2.5] <- c(450, 560, 640)
w(contract, "plate_contract.csv")
# Controls set by hand to 25 % and 35 % spontaneous release (means 500/2000 and 700/2000).
p25 <- plate(500, 2000, list("NK-C" = c(0.8, 0.15)))
p25$value[p25$well_type == "spontaneous"] <- c(490, 500, 510)
p25$value[p25$well_type == "maximum"] <- c(1990, 2000, 2010)
w(p25, "plate_spont25.csv")
p35 <- plate(700, 2000, list("NK-D" = c(0.8, 0.15)))
p35$value[p35$well_type == "spontaneous"] <- c(690, 700, 710)
p35$value[p35$well_type == "maximum"] <- c(1980, 2000, 2020)
w(p35, "plate_spont35.csv")
w(plate(1500, 1200, list("NK-E" = c(0.8, 0.15))), "plate_s_above_m.csv")

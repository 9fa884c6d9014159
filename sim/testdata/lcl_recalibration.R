# Independent check of the EBV-LCL recalibration (k_F 0.25 -> 0.20 per day) in package sim.
#
# Written from domain.md §5.4 (equations and integration scheme), §5.5 (calibrated parameters)
# and §5.7 (donor effects), not from the Go code. Run: Rscript sim/testdata/lcl_recalibration.R
#
# 1. The deterministic §5.6 anchors of the three EBV-LCL protocols (nominal donor, m_donor = 1,
#    purified NK, N0 = 1, feeder:NK 2:1, no restimulation, no consumption) for k_F = 0.25 (which
#    must reproduce domain.md's 509, 581 and 960) and k_F = 0.20.
# 2. The exact population median of the EBV-LCL + IL-2 500 IU/mL d14 fold under the §5.7 donor
#    effects. For a purified-NK start only three effects act, all on mu as one multiplier
#    X = m_donor * age multiplier * exp(interaction):
#      ln m_donor ~ N(0, 0.35^2), interaction ~ N(0, 0.10^2), age uniform on 18..60 whole years
#      (sim.DefaultDonorModel) with multiplier 0.9 from 41 years (20 of 43 ages).
#    So ln X is a two-component normal mixture with SD sqrt(0.35^2 + 0.10^2) and means 0 and
#    log(0.9). The fold rises monotonically with X (checked below), so the median fold is the
#    fold at the median of X.

par <- list(mu_max = 1.5, k_on = 0.5, k_off = 0.2, w_c = 0.1, r50 = 0.05, d0 = 0.02, d_w = 0.2,
            E2 = 100, E15 = 2, S2 = 1, S15 = 0.2, w_f = 1, G_max = 30, dt = 0.05)

H <- function(c, E) if (c <= 0) 0 else c / (c + E)

fold <- function(IL2, IL15, kF, X = 1, days = 14) {
  with(par, {
    s_cyt <- 1 - (1 - H(IL2, E2)) * (1 - H(IL15, E15))
    s_srv <- 1 - (1 - H(IL2, S2)) * (1 - H(IL15, S15))
    N <- 1; F <- 2; a <- 0; G <- 0
    for (i in seq_len(round(days / dt))) {
      S <- w_f * F / (F + r50 * N) + w_c * s_cyt
      a <- min(max(a + dt * (k_on * S * (1 - a) - k_off * a), 0), 1)
      mu <- mu_max * X * a * s_cyt * max(0, 1 - G / G_max)
      N <- N * exp((mu - (d0 + d_w * (1 - s_srv))) * dt)
      F <- F * exp(-kF * dt)
      G <- G + max(mu, 0) * dt / log(2)
    }
    N
  })
}

# The candidates tried, on the 0.05-per-day grid of the original assumption and between.
kFs <- c(0.25, 0.22, 0.20, 0.18)
for (kF in kFs) {
  cat(sprintf("k_F = %.2f: LCL + IL-2 500 d14 %.1f; hold-out LCL + IL-2 100 + IL-15 5 d14 %.1f; LCL + IL-2 500 + IL-15 5 d14 %.1f\n",
              kF, fold(500, 0, kF), fold(100, 5, kF), fold(500, 5, kF)))
}

sd_x <- sqrt(0.35^2 + 0.10^2)
p_old <- 20 / 43
cdf <- function(lx) (1 - p_old) * pnorm(lx, 0, sd_x) + p_old * pnorm(lx, log(0.9), sd_x)
lx_med <- uniroot(function(lx) cdf(lx) - 0.5, c(-1, 1), tol = 1e-12)$root
cat(sprintf("median multiplier X = %.6f\n", exp(lx_med)))

xs <- exp(seq(-1.5, 1.5, by = 0.05))
# Standard error of the median of n = 2,000 sampled donors (TestFamiliesWithDonorEffects), on
# the log scale: 1/(2 f sqrt(n)), with f the density of ln fold at its median, i.e. the density
# of ln X divided by the slope d ln fold / d ln X (central difference).
pdf <- function(lx) (1 - p_old) * dnorm(lx, 0, sd_x) + p_old * dnorm(lx, log(0.9), sd_x)
for (kF in kFs) {
  h <- 1e-3
  slope <- (log(fold(500, 0, kF, exp(lx_med + h))) - log(fold(500, 0, kF, exp(lx_med - h)))) / (2 * h)
  se <- slope / (2 * pdf(lx_med) * sqrt(2000))
  m <- fold(500, 0, kF, exp(lx_med))
  cat(sprintf("k_F = %.2f: SE of a 2,000-donor median %.1f %% (log); median is %.2f SE above 425\n",
              kF, 100 * se, log(m / 425) / se))
}

# The hold-out starts from PBMC, but with the feeder ratio on the NK basis its NK fold does
# not depend on the NK fraction, so the same multiplier gives its population median.
for (kF in kFs) {
  for (il15 in c(0, 5)) stopifnot(all(diff(sapply(xs, function(x) fold(500, il15, kF, x))) > 0))
  cat(sprintf("k_F = %.2f: population median fold: LCL + IL-2 500 %.1f; hold-out %.1f\n",
              kF, fold(500, 0, kF, exp(lx_med)), fold(100, 5, kF, exp(lx_med))))
}

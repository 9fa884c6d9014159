# Closed-form Gaussian-process posteriors and log marginal likelihoods for gp's tests.
#
# Run from gp/testdata with:  Rscript closed_form.R
# It writes cases.csv (kernel, hyperparameters, log marginal likelihood), train.csv (the
# observations), test.csv (posterior mean and variance of mu + f at test points) and joint.csv
# (the posterior covariance between the test points of a case). Base R only: the formulas
# below are written out from the model of gp's package documentation,
#
#   y = mu + f(x) + b_g + e,  f ~ GP(0, s2 k),  b_g ~ N(0, gv),  e_i ~ N(0, noise + nv_i),
#   k(x, x') = matern52(r) * exp(-mean_j([x_j != x'_j] / l_j)),  r^2 = sum_k ((x_k - x'_k)/l_k)^2,
#
# and the posterior of mu + f at test points X* is
#   mean = mu + K*' K^-1 (y - mu),  cov = s2 k(X*, X*) - K*' K^-1 K*,
# with log marginal likelihood  -1/2 r' K^-1 r - 1/2 log det K - n/2 log(2 pi),  r = y - mu.

matern52 <- function(r) (1 + sqrt(5) * r + 5 * r^2 / 3) * exp(-sqrt(5) * r)

kern <- function(a, b, kinds, l) {
  cont <- kinds == "c"
  cat <- kinds == "k"
  r <- sqrt(sum(((a[cont] - b[cont]) / l[cont])^2))
  v <- matern52(r)
  if (any(cat)) v <- v * exp(-mean((a[cat] != b[cat]) / l[cat]))
  v
}

cases <- list(
  list(name = "1d-1pt", kinds = "c", levels = 0, l = 0.4, s2 = 2, noise = 0.1, gv = 0, mu = 0.5,
       X = rbind(0.3), y = 1.2, g = -1, nv = 0,
       T = rbind(0.3, 0.5, 2.0)),
  list(name = "1d-2pt", kinds = "c", levels = 0, l = 0.3, s2 = 1.5, noise = 0.05, gv = 0, mu = 0.1,
       X = rbind(0.2, 0.7), y = c(1, -0.5), g = c(-1, -1), nv = c(0, 0),
       T = rbind(0.2, 0.45, 0.9)),
  list(name = "1d-3pt", kinds = "c", levels = 0, l = 0.25, s2 = 0.8, noise = 0.01, gv = 0, mu = 2,
       X = rbind(0.1, 0.4, 0.8), y = c(2, 3.5, 1), g = c(-1, -1, -1), nv = c(0, 0, 0),
       T = rbind(0, 0.4, 0.6, 1)),
  list(name = "2d-3pt", kinds = c("c", "c"), levels = c(0, 0), l = c(0.3, 0.6), s2 = 4, noise = 0.2, gv = 0, mu = 10,
       X = rbind(c(0.1, 0.2), c(0.5, 0.9), c(0.8, 0.3)), y = c(10, 12, 9), g = c(-1, -1, -1), nv = c(0, 0, 0),
       T = rbind(c(0.5, 0.5), c(0.1, 0.2), c(0.9, 0.9))),
  list(name = "2d-mixed-groups", kinds = c("c", "k"), levels = c(0, 3), l = c(0.5, 0.7), s2 = 1.3, noise = 0.03,
       gv = 0.4, mu = 0.2,
       X = rbind(c(0.1, 0), c(0.4, 1), c(0.4, 0), c(0.9, 2), c(0.6, 1)), y = c(0.5, 1.7, 0.9, -0.4, 1.1),
       g = c(0, 0, 1, 1, -1), nv = c(0.01, 0.02, 0, 0.05, 0),
       T = rbind(c(0.4, 0), c(0.4, 2), c(0.2, 1), c(0.7, 0))),
  list(name = "3d-two-categorical", kinds = c("c", "k", "k"), levels = c(0, 2, 3), l = c(0.35, 0.8, 2),
       s2 = 0.5, noise = 0.002, gv = 0, mu = -1,
       X = rbind(c(0.2, 0, 0), c(0.3, 1, 2), c(0.7, 0, 1), c(0.9, 1, 0)), y = c(-1.2, -0.3, -0.9, -1.6),
       g = c(-1, -1, -1, -1), nv = c(0, 0, 0, 0),
       T = rbind(c(0.25, 0, 2), c(0.3, 1, 2), c(0.6, 1, 1)))
)

fmt <- function(v) paste(sprintf("%.17g", v), collapse = ";")
cs <- NULL; tr <- NULL; te <- NULL; jo <- NULL
for (cc in cases) {
  n <- nrow(cc$X); m <- nrow(cc$T)
  K <- matrix(0, n, n)
  for (i in 1:n) for (j in 1:n) {
    K[i, j] <- cc$s2 * kern(cc$X[i, ], cc$X[j, ], cc$kinds, cc$l) +
      (if (cc$g[i] >= 0 && cc$g[i] == cc$g[j]) cc$gv else 0)
  }
  K <- K + diag(cc$noise + cc$nv, n)
  Ks <- matrix(0, n, m)
  for (i in 1:n) for (a in 1:m) Ks[i, a] <- cc$s2 * kern(cc$X[i, ], cc$T[a, ], cc$kinds, cc$l)
  Kss <- matrix(0, m, m)
  for (a in 1:m) for (b in 1:m) Kss[a, b] <- cc$s2 * kern(cc$T[a, ], cc$T[b, ], cc$kinds, cc$l)
  r <- cc$y - cc$mu
  mean <- cc$mu + drop(t(Ks) %*% solve(K, r))
  cov <- Kss - t(Ks) %*% solve(K, Ks)
  L <- chol(K)
  lml <- -0.5 * sum(r * solve(K, r)) - sum(log(diag(L))) - n / 2 * log(2 * pi)
  cs <- rbind(cs, data.frame(case = cc$name, kinds = paste(cc$kinds, collapse = ";"),
                             levels = paste(cc$levels, collapse = ";"), lengthscales = fmt(cc$l),
                             outputscale = fmt(cc$s2), noise = fmt(cc$noise), groupvar = fmt(cc$gv),
                             mean = fmt(cc$mu), lml = fmt(lml)))
  for (i in 1:n) tr <- rbind(tr, data.frame(case = cc$name, x = fmt(cc$X[i, ]), y = fmt(cc$y[i]),
                                            group = cc$g[i], noisevar = fmt(cc$nv[i])))
  for (a in 1:m) te <- rbind(te, data.frame(case = cc$name, point = a - 1, x = fmt(cc$T[a, ]),
                                            mean = fmt(mean[a]), var = fmt(cov[a, a])))
  for (a in 1:m) for (b in 1:m) jo <- rbind(jo, data.frame(case = cc$name, i = a - 1, j = b - 1,
                                                           cov = fmt(cov[a, b])))
}
write.csv(cs, "cases.csv", row.names = FALSE, quote = FALSE)
write.csv(tr, "train.csv", row.names = FALSE, quote = FALSE)
write.csv(te, "test.csv", row.names = FALSE, quote = FALSE)
write.csv(jo, "joint.csv", row.names = FALSE, quote = FALSE)

# nls.R: expected values for the lsq tests, computed independently with R's nls.
#
# R version 4.2.2 Patched (2022-11-10 r83330), base stats::nls with
# nls.control(tol = 1e-10, maxiter = 1000) and analytic gradients: the Gauss-Newton algorithm
# for the unbounded problems but the 4PL, and "port" for the 4PL and the bounded problems (a
# parameter fitted on its bound). Run from this folder:
#   cd internal/lsq/testdata && Rscript nls.R
# It writes problems.csv (problem,x,y: the points) and nls_expected.csv (problem,param,
# estimate,std_error,rss: coefficients and standard errors of summary(nls), and the residual
# sum of squares deviance(fit)).
#
# The points:
#   puromycin       R's datasets::Puromycin, state "treated" (Treloar 1974): reaction rate
#                   against substrate concentration, the Michaelis-Menten example of ?nls.
#   exp_noisy       cytotox/testdata/exp_noisy.csv and exp_bound.csv (made by
#   exp_bound       cytotox/testdata/gen_data.R), lysis as a fraction against E:T ratio.
#   fourpl_sigmoid  cytotox/testdata/fourpl_sigmoid.csv, likewise.
ctl <- nls.control(tol = 1e-10, maxiter = 1000)

# The models with analytic gradients (deriv), which nls then uses instead of finite
# differences: with finite differences it cannot reach a relative offset of 1e-10.
mm <- deriv(~ Vm * x / (K + x), c("Vm", "K"), function(x, Vm, K) NULL)
expo <- deriv(~ a * (1 - exp(-k * x)), c("a", "k"), function(x, a, k) NULL)
fourpl <- deriv(~ b + (t - b) / (1 + (c / x)^h), c("b", "t", "c", "h"), function(x, b, t, c, h) NULL)

pur <- Puromycin[Puromycin$state == "treated", ]
problems <- list(
  puromycin = data.frame(x = pur$conc, y = pur$rate),
  exp_noisy = data.frame(x = rep(c(0.625, 1.25, 2.5, 5, 10, 20), each = 3),
                         y = c(10, 13.8, 8.4, 17.2, 18.1, 18.3, 31.8, 33.8, 28.1,
                               49.8, 57.6, 50.4, 65.8, 68.8, 68.5, 86.6, 79.5, 76.9) / 100),
  exp_bound = data.frame(x = c(1.25, 2.5, 5, 10, 20), y = c(6.1, 12.8, 23.3, 43.9, 69.9) / 100),
  fourpl_sigmoid = data.frame(x = c(0.3125, 0.625, 1.25, 2.5, 5, 10, 20, 40),
                              y = c(6.8, 7.1, 15.3, 28.8, 49.2, 69.8, 76.9, 79.7) / 100)
)

fits <- list(
  # Michaelis-Menten, unbounded.
  puromycin = nls(y ~ mm(x, Vm, K), problems$puromycin,
                  start = list(Vm = 200, K = 0.1), control = ctl),
  # The same with K >= 0.1, above the unbounded optimum: K ends on its bound.
  puromycin_klow = nls(y ~ mm(x, Vm, K), problems$puromycin, start = list(Vm = 200, K = 0.2),
                       algorithm = "port", lower = c(-Inf, 0.1), control = ctl),
  exp_noisy = nls(y ~ expo(x, a, k), problems$exp_noisy,
                  start = list(a = 0.8, k = 0.2), control = ctl),
  # a <= 1, below the unbounded optimum: a ends on its bound.
  exp_bound = nls(y ~ expo(x, a, k), problems$exp_bound, start = list(a = 0.7, k = 0.1),
                  algorithm = "port", lower = c(1e-12, 1e-12), upper = c(1, Inf), control = ctl),
  # "port", as Gauss-Newton stops at a relative offset of 1.7e-10 here, short of 1e-10.
  fourpl_sigmoid = nls(y ~ fourpl(x, b, t, c, h), problems$fourpl_sigmoid,
                       start = list(b = 0.05, t = 0.8, c = 4, h = 1.5), algorithm = "port",
                       control = ctl)
)

pts <- do.call(rbind, lapply(names(problems), function(n) data.frame(problem = n, problems[[n]])))
write.csv(pts, "problems.csv", row.names = FALSE, quote = FALSE)

rows <- do.call(rbind, lapply(names(fits), function(n) {
  f <- fits[[n]]
  s <- summary(f)$coefficients
  data.frame(problem = n, param = rownames(s), estimate = sprintf("%.17g", s[, "Estimate"]),
             std_error = sprintf("%.17g", s[, "Std. Error"]), rss = sprintf("%.17g", deviance(f)))
}))
write.csv(rows, "nls_expected.csv", row.names = FALSE, quote = FALSE)

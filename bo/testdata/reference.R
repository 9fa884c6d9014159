options(digits=17)
# erfcx(x) = exp(x^2) erfc(x), erfc(x) = 2 pnorm(-x sqrt 2)
for (x in c(0.5, 2, 5, 5.5, 10, 30, 100, 1e4)) cat(sprintf("erfcx %.17g %.17g\n", x, exp(x^2 + log(2) + pnorm(-x*sqrt(2), log.p=TRUE))))
for (z in c(-40, -20, -10, -6, -3, 0, 3)) cat(sprintf("logPhi %.17g %.17g\n", z, pnorm(z, log.p=TRUE)))
# quantile type 7
x <- c(3.1, 2.7, 3.3, 2.9, 3.05, 3.2, 2.5)
print(quantile(x, c(0.25, 0.5, 0.75), type=7))

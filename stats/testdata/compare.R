#!/usr/bin/env Rscript
# compare.R: expected values for the Go tests of package stats (Compare and its building blocks).
#
# Made with R 4.2.2 Patched (2022-11-10 r83330), lme4 1.1.31 (Matrix 1.5-3), jsonlite 1.8.4.
# Run from the repository root:
#
#     Rscript stats/testdata/compare.R            # CSVs in stats/testdata/compare/ -> *.json next to them
#     Rscript stats/testdata/compare.R --inputs   # first rewrites the input CSVs (seeded), then the same
#
# Inputs: stats/testdata/compare/<name>.csv with header donor,protocol,value. The worked examples of
# domain.md §7.2 and §7.3 and the small edge cases are written out literally below; the larger sets are
# drawn from seeded log-normal models. The CSVs are committed and are the source of truth: the Go tests
# and this script both read them.
#
# Per dataset <name>.json holds what R says, following the rules of stats.Compare:
#   - protocols in order of first appearance, the first is the reference; donors likewise;
#   - summary per protocol over all rows: n and quantile(type = 7) at 0.25, 0.5, 0.75;
#   - rank tests on the donors with a value for every protocol, one value per donor and protocol (the
#     mean, with R's mean(), when a donor has several rows): wilcox.test(x, y, paired = TRUE) for two
#     protocols (its warnings kept), friedman.test(matrix), pairwise wilcox.test for every pair i < j
#     with p.adjust(method = "holm");
#   - the mixed model lmer(y ~ protocol + (1 | donor), REML = TRUE) with y = log10(value) and y = value.
#
# The mixed model at the exact optimum. lmer stops up to ~1e-7 short of the REML optimum, so:
#   1. lmer is run with tight nloptwrap settings (xtol_abs 1e-14, ftol_abs 1e-16, xtol_rel = ftol_rel = 0,
#      maxeval 1e5);
#   2. lme4's own profiled REML deviance (mkLmerDevfun) is minimised over theta = sigma_d/sigma with
#      optimize(tol = 1e-12) on [0, max(10, 10 theta_lmer)], and theta = 0 is checked explicitly;
#   3. the better of the two is polished: the root of the central-difference derivative of the deviance
#      (step 1e-5 theta) found by uniroot(tol = 1e-15 theta), good to about 1e-10, where optimize() stops
#      near sqrt(machine epsilon);
#   4. for a balanced complete design (one row per donor and protocol) REML equals the ANOVA moment
#      estimates, sigma^2 = MS_residual and sigma_d^2 = max(0, (MS_donor - MS_residual)/k), which gives
#      theta in closed form (domain.md §7.4); that theta is used. Otherwise the polished theta is used;
#   5. the model is rebuilt at that theta with lme4's mkMerMod, and summary()'s coefficients, VarCorr
#      and REMLcrit are written out. All thetas are written too; the script stops if they disagree
#      by more than 1e-5 (relative, or absolute near 0).
# The Go tests compare with 1e-6 relative tolerance for estimates and statistics, 1e-4 for p-values.
#
# cases.json holds the building-block checks: quantile(type = 7), p.adjust(method = "holm"),
# wilcox.test(paired = TRUE) on chosen vectors and pchisq(lower.tail = FALSE) far in the tail.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

dir <- file.path("stats", "testdata", "compare")
if (!dir.exists(dir)) stop("run from the repository root: ", dir, " not found")

num <- function(x) if (length(x) == 1 && is.finite(x)) unname(x) else NA

write_json_file <- function(x, path) {
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), path)
}

# ---------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------

long <- function(donors, protocols, m) {
  # m: donors x protocols matrix of values (NA = no row); rows ordered by donor, then protocol
  out <- data.frame(donor = character(), protocol = character(), value = numeric())
  for (i in seq_along(donors)) for (j in seq_along(protocols)) {
    if (!is.na(m[i, j])) out <- rbind(out, data.frame(donor = donors[i], protocol = protocols[j], value = m[i, j]))
  }
  out
}

write_inputs <- function() {
  w <- function(name, d) write.csv(d, file.path(dir, paste0(name, ".csv")), row.names = FALSE, quote = FALSE)

  # domain.md §7.2 worked example 1: log10 fold of protocols A and B in 8 donors.
  A <- c(2.93, 2.41, 2.75, 3.12, 2.60, 2.88, 2.35, 3.02)
  B <- c(2.62, 2.29, 2.80, 2.68, 2.33, 2.70, 2.26, 2.66)
  w("doc_wilcoxon", long(sprintf("D%02d", 1:8), c("A", "B"), cbind(A, B)))

  # domain.md §7.3 worked example: 6 donors, P1 = LCL + IL-2, P2 = LCL + IL-2/IL-15, P3 = dendrimer + IL-2.
  P1 <- c(2.71, 2.45, 2.90, 2.38, 2.66, 2.52)
  P2 <- c(2.95, 2.80, 2.85, 2.62, 3.05, 2.74)
  P3 <- c(2.10, 2.22, 2.31, 1.95, 2.48, 2.05)
  w("doc_friedman", long(sprintf("D%02d", 1:6), c("P1", "P2", "P3"), cbind(P1, P2, P3)))

  # Two protocols with tied and zero differences; eighths, so the differences are exact in binary.
  ref <- c(2.000, 2.250, 2.500, 1.750, 2.125, 2.375, 2.000, 2.625, 2.250, 1.875)
  dd <- c(0.25, 0.5, 0, 0.5, -0.25, 0.5, 0.25, 0.5, 0, 0.75)
  w("ties_zeros", long(sprintf("D%02d", 1:10), c("ref", "new"), cbind(ref, ref + dd)))

  # A donor missing one protocol, another with a single row; protocol names with spaces and signs.
  m <- cbind(c(2.71, 2.45, 2.90, 2.38, 2.66, 2.52, 2.60, 2.80),
             c(2.95, 2.80, 2.85, 2.62, 3.05, 2.74, 2.91, NA),
             c(2.10, 2.22, 2.31, 1.95, 2.48, 2.05, NA, NA))
  w("missing_protocol", long(sprintf("D%02d", 1:8), c("LCL + IL-2", "LCL + IL-2/IL-15", "dendrimer + IL-2"), m))

  # Two donors, three protocols.
  w("two_donors", long(c("D1", "D2"), c("P1", "P2", "P3"), rbind(c(310, 520, 150), c(240, 610, 180))))

  # All values equal.
  w("all_equal", long(sprintf("D%d", 1:4), c("A", "B"), matrix(5, 4, 2)))

  # Unbalanced replicates: 1 to 3 rows per donor and protocol, one cell empty.
  set.seed(20240402)
  reps <- rbind(c(1, 2, 1), c(3, 1, 2), c(1, 1, 1), c(2, 2, 3), c(1, 3, 1), c(2, 1, 0))
  u <- rnorm(6, 0, 0.2)
  beta <- c(0, 0.25, -0.3)
  d <- data.frame(donor = character(), protocol = character(), value = numeric())
  for (i in 1:6) for (j in 1:3) for (r in seq_len(reps[i, j])) {
    d <- rbind(d, data.frame(donor = sprintf("R%02d", i), protocol = c("base", "il15", "feeder")[j],
                             value = signif(10^(2.5 + u[i] + beta[j] + rnorm(1, 0, 0.1)), 4)))
  }
  w("replicates", d)

  # Five protocols x 12 donors.
  set.seed(20240403)
  u <- rnorm(12, 0, 0.25)
  beta <- c(0, 0.2, -0.1, 0.35, 0.05)
  m <- 10^(2.5 + outer(u, beta, "+") + matrix(rnorm(60, 0, 0.12), 12))
  w("five_protocols", long(sprintf("D%02d", 1:12), sprintf("P%d", 1:5), signif(m, 6)))

  # 60 donors, two protocols: n >= 50, the normal approximation.
  set.seed(20240404)
  u <- rnorm(60, 0, 0.3)
  m <- 10^(cbind(2.4 + u + rnorm(60, 0, 0.15), 2.5 + u + rnorm(60, 0, 0.15)))
  w("large_n", long(sprintf("D%02d", 1:60), c("ref", "new"), signif(m, 6)))

  # Ten protocols x 25 donors, the same ordering in every donor: a Friedman p far below 1e-20.
  set.seed(20240405)
  u <- rnorm(25, 0, 0.3)
  m <- 10^(1 + outer(u, 0.1 * (0:9), "+") + matrix(runif(250, -0.03, 0.03), 25))
  w("tiny_p", long(sprintf("D%02d", 1:25), sprintf("P%02d", 1:10), signif(m, 6)))

  # Singular fit on the log10 scale: every donor's log10 values are the protocol means plus a
  # permutation of (-0.1, 0, 0.1), so the donor means agree and the donor variance is 0.
  perms <- rbind(c(-1, 0, 1), c(-1, 1, 0), c(0, -1, 1), c(0, 1, -1), c(1, -1, 0), c(1, 0, -1)) / 10
  m <- 10^(matrix(c(2.0, 2.3, 2.6), 6, 3, byrow = TRUE) + perms)
  w("singular", long(sprintf("D%02d", 1:6), c("P1", "P2", "P3"), signif(m, 10)))
}

datasets <- c("doc_wilcoxon", "doc_friedman", "ties_zeros", "missing_protocol", "two_donors", "all_equal",
              "replicates", "five_protocols", "large_n", "tiny_p", "singular")

# ---------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------

with_warnings <- function(expr) {
  warns <- character()
  value <- withCallingHandlers(expr, warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = warns)
}

wtest <- function(x, y) {
  if (length(x) == 0) {
    return(list(statistic = 0, p_value = NA, n = 0, exact = FALSE, warnings = list(),
                error = "not enough (non-missing) 'x' observations"))
  }
  r <- with_warnings(wilcox.test(x, y, paired = TRUE))
  t <- r$value
  list(statistic = num(t$statistic), p_value = num(t$p.value), n = sum(x - y != 0),
       exact = grepl("exact", t$method), warnings = as.list(r$warnings))
}

ftest <- function(m) {
  r <- tryCatch(friedman.test(m), error = function(e) e)
  if (inherits(r, "error")) {
    return(list(statistic = NA, df = ncol(m) - 1, p_value = NA, n_donors = nrow(m), error = conditionMessage(r)))
  }
  list(statistic = num(r$statistic), df = unname(r$parameter), p_value = num(r$p.value), n_donors = nrow(m))
}

# ---------------------------------------------------------------------------------------------------
# Mixed model
# ---------------------------------------------------------------------------------------------------

ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5),
                    calc.derivs = FALSE)

anova_theta <- function(d) {
  # Balanced complete design: one row per donor and protocol, every cell present.
  tab <- table(d$donor, d$protocol)
  if (any(tab != 1)) return(NA)
  k <- nlevels(d$protocol); n <- nlevels(d$donor)
  a <- anova(lm(y ~ donor + protocol, data = d))
  ms_res <- a["Residuals", "Mean Sq"]
  ms_donor <- a["donor", "Mean Sq"]
  if (!(ms_res > 0)) return(NA)
  sqrt(max(0, (ms_donor - ms_res) / k) / ms_res)
}

# polish refines an interior optimum th of the deviance f: the root of its central-difference
# derivative (step 1e-5 th) near th, found by uniroot to 1e-15. A function-value search such as
# optimize() cannot place the minimum closer than about sqrt(machine epsilon) relative; the root of
# the derivative can, to about 1e-10 here.
polish <- function(f, th) {
  if (th == 0) return(0)
  h <- 1e-5 * th
  g <- function(t) (f(t + h) - f(t - h)) / (2 * h)
  lo <- th * (1 - 1e-4); hi <- th * (1 + 1e-4)
  if (sign(g(lo)) == sign(g(hi))) return(th)
  uniroot(g, c(lo, hi), tol = 1e-15 * th)$root
}

mixed <- function(d, scale) {
  d$y <- if (scale == "log10") log10(d$value) else d$value
  form <- y ~ protocol + (1 | donor)
  if (sum(resid(lm(y ~ protocol, data = d))^2) <= 1e-20 * sum(d$y^2)) {
    # Every value equals its protocol mean: lmer returns numerical noise (sigma ~ 1e-16), stats gives no model.
    return(list(error = "no residual variation"))
  }
  msgs <- character()
  warns <- character()
  fit <- tryCatch(withCallingHandlers(lmer(form, data = d, REML = TRUE, control = ctrl),
                                      message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") },
                                      warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") }),
                  error = function(e) e)
  if (inherits(fit, "error")) return(list(error = conditionMessage(fit)))
  lmod <- lFormula(form, data = d, REML = TRUE, control = ctrl)
  devfun <- do.call(mkLmerDevfun, lmod)
  th_lmer <- unname(getME(fit, "theta"))
  o <- optimize(devfun, c(0, max(10, 10 * th_lmer)), tol = 1e-12)
  th_opt <- if (devfun(0) <= o$objective) 0 else o$minimum
  th_anova <- anova_theta(d)
  th_best <- if (devfun(th_lmer) < devfun(th_opt)) th_lmer else th_opt
  th_polish <- polish(devfun, th_best)
  th <- if (!is.na(th_anova)) th_anova else th_polish
  agree <- function(a, b) abs(a - b) <= 1e-5 * max(1, abs(b))
  if (!agree(th_lmer, th) || !agree(th_opt, th) || !agree(th_polish, th)) {
    stop(sprintf("theta disagrees: lmer %.10g, optimize %.10g, polished %.10g, anova %.10g", th_lmer, th_opt, th_polish, th_anova))
  }
  fval <- devfun(th) # leaves devfun's environment at theta
  fit2 <- mkMerMod(environment(devfun), list(par = th, fval = fval, conv = 0), lmod$reTrms, fr = lmod$fr)
  cf <- summary(fit2)$coefficients
  vc <- as.data.frame(VarCorr(fit2))
  dv <- vc$vcov[vc$grp == "donor"]
  rv <- vc$vcov[vc$grp == "Residual"]
  list(
    theta = th, theta_lmer = th_lmer, theta_optimize = th_opt, theta_polished = th_polish, theta_anova = num(th_anova),
    fixed_effects = lapply(seq_len(nrow(cf)), function(i) list(term = rownames(cf)[i], estimate = cf[i, "Estimate"],
                                                                 std_error = cf[i, "Std. Error"])),
    donor_variance = dv, residual_variance = rv, icc = dv / (dv + rv), singular = th == 0,
    n_obs = nrow(d), n_donors = nlevels(d$donor), reml_criterion = unname(REMLcrit(fit2)),
    lmer_messages = as.list(c(msgs, warns))
  )
}

# ---------------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------------

expected <- function(name) {
  d <- read.csv(file.path(dir, paste0(name, ".csv")), colClasses = c("character", "character", "numeric"))
  prots <- unique(d$protocol)
  donors <- unique(d$donor)
  d$protocol <- factor(d$protocol, levels = prots)
  d$donor <- factor(d$donor, levels = donors)
  k <- length(prots)

  summary <- lapply(prots, function(p) {
    v <- d$value[d$protocol == p]
    q <- quantile(v, c(0.25, 0.5, 0.75), type = 7, names = FALSE)
    list(protocol = p, n = length(v), median = q[2], q1 = q[1], q3 = q[3])
  })

  cell <- tapply(d$value, list(d$donor, d$protocol), mean) # donors x protocols, NA where missing
  cm <- cell[complete.cases(cell), , drop = FALSE]

  res <- list(name = name, protocols = prots, n_donors = length(donors), n_complete_donors = nrow(cm),
              summary = summary)
  if (k == 2) res$wilcoxon <- wtest(cm[, 1], cm[, 2])
  res$friedman <- ftest(cm)
  if (k >= 3) {
    pw <- list()
    for (a in 1:(k - 1)) for (b in (a + 1):k) {
      t <- wtest(cm[, a], cm[, b])
      t$protocol_a <- prots[a]
      t$protocol_b <- prots[b]
      pw[[length(pw) + 1]] <- t
    }
    ps <- sapply(pw, function(t) if (is.null(t$p_value) || is.na(t$p_value)) NA else t$p_value)
    holm <- p.adjust(ps, "holm")
    for (i in seq_along(pw)) pw[[i]]$p_holm <- num(holm[i])
    res$pairwise <- pw
  }
  res$mixed <- list(log10 = mixed(d, "log10"), linear = mixed(d, "linear"))
  res
}

# ---------------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------------

cases <- function() {
  qdata <- list(c(3.2), c(1, 2), c(1, 2, 3, 4, 5), c(1, 1, 2, 3, 5, 8, 13), c(-2.5, 0.1, 0.1, 7, 1e6, 1e6))
  probs <- c(0, 0.1, 0.25, 1 / 3, 0.5, 0.75, 0.9, 1)
  quantiles <- lapply(qdata, function(x) list(x = I(sort(x)), probs = probs, q = quantile(x, probs, type = 7, names = FALSE)))

  pvecs <- list(c(0.01, 0.04, 0.03, 0.005), c(0.0585, 0.03125, 0.03125), c(0.01, NA, 0.03, 0.02),
                c(0.02, 0.02, 0.5), c(0.5, 0.9, 0.8), c(1e-300, 1e-20, 0.2), c(0.7))
  holm <- lapply(pvecs, function(p) list(p = I(p), holm = I(p.adjust(p, "holm"))))

  wcase <- function(name, x, y) c(list(name = name, x = I(x), y = I(y)), wtest(x, y))
  d2 <- c(0.2, 0.3, 0.0, 0.3, -0.2, 0.3, 0.2, 0.3) # domain.md §7.2 worked example 2
  n49 <- c(-1, 2:49)
  set.seed(20240406)
  x50 <- round(rnorm(50, 0.3, 1), 6)
  x30 <- round(rnorm(30, 0.1, 1), 6)
  wilcoxon <- list(
    wcase("doc example 2: ties and a zero", d2, rep(0, 8)),
    wcase("n = 1", 1, 0),
    wcase("n = 2 negative", c(1, 2), c(3, 5)),
    wcase("exact n = 49, V at the top", n49, rep(0, 49)),
    wcase("exact n = 49, V in the middle", (1:49) * rep(c(1, -1), length.out = 49), rep(0, 49)),
    wcase("exact n = 30", x30, rep(0, 30)),
    wcase("normal n = 50", x50, rep(0, 50)),
    wcase("ties, no zeros", c(1, 1, 2, -2, 3, 3, 3), rep(0, 7)),
    wcase("one zero, no ties", c(0, 1, -2, 3, 4, 5), rep(0, 6)),
    wcase("all zero", c(1, 2, 3), c(1, 2, 3))
  )

  qs <- c(1, 10, 100, 300, 700, 1000, 1400)
  dfs <- c(1, 2, 9, 99)
  chisq <- list()
  for (df in dfs) for (q in qs) chisq[[length(chisq) + 1]] <- list(q = q, df = df, p = pchisq(q, df, lower.tail = FALSE))

  list(quantile = quantiles, holm = holm, wilcoxon = wilcoxon, chisq = chisq)
}

# ---------------------------------------------------------------------------------------------------

args <- commandArgs(trailingOnly = TRUE)
if ("--inputs" %in% args) write_inputs()
for (name in datasets) {
  write_json_file(expected(name), file.path(dir, paste0(name, ".json")))
  cat("wrote", name, "\n")
}
write_json_file(cases(), file.path(dir, "cases.json"))
cat("wrote cases\n")

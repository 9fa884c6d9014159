# Cross-check of the percentile step of stats/bootstrap.go against R (R 4.2.2, base only).
#
# Each bootstrap_<set>.csv holds a fixed resample table: line 1 is the data, every later line
# one resample as 1-based indices into the data. For each set this script writes, to
# bootstrap_expected.csv, R's median of the data, the median of every resample and the type-7
# quantiles of those medians at (1 - level)/2 and 1 - (1 - level)/2, as the Go code computes
# them. The tables were drawn once with the set.seed below; the script draws them again only
# when a table file is missing.
#
# Run from this directory: Rscript bootstrap.R

sets <- list(
  even = c(812.4, 233.1, 1520.0, 640.75, 233.1, 97.3, 1104.2, 455.0, 2890.6, 701.05),
  odd  = c(3.25, 17.5, 0.875, 42.0, 9.1, 17.5, 120.3)
)
levels <- c(0.95, 0.90, 0.80, 0.50)

set.seed(20261126)
for (name in names(sets)) {
  file <- sprintf("bootstrap_%s.csv", name)
  if (!file.exists(file)) {
    x <- sets[[name]]
    b <- if (name == "even") 40 else 41
    idx <- matrix(sample.int(length(x), b * length(x), replace = TRUE), nrow = b)
    lines <- c(paste(format(x, digits = 17, trim = TRUE), collapse = ","),
               apply(idx, 1, paste, collapse = ","))
    writeLines(lines, file)
  }
}

f <- function(v) sprintf("%.17g", v)
out <- c("set,kind,index,level,value")
for (name in names(sets)) {
  lines <- readLines(sprintf("bootstrap_%s.csv", name))
  x <- as.numeric(strsplit(lines[1], ",")[[1]])
  idx <- lapply(strsplit(lines[-1], ","), as.integer)
  meds <- vapply(idx, function(i) median(x[i]), numeric(1))
  out <- c(out, sprintf("%s,estimate,0,0,%s", name, f(median(x))))
  out <- c(out, sprintf("%s,median,%d,0,%s", name, seq_along(meds), f(meds)))
  for (level in levels) {
    a <- (1 - level) / 2
    q <- quantile(meds, c(a, 1 - a), type = 7, names = FALSE)
    out <- c(out, sprintf("%s,low,0,%s,%s", name, f(level), f(q[1])))
    out <- c(out, sprintf("%s,high,0,%s,%s", name, f(level), f(q[2])))
  }
}
writeLines(out, "bootstrap_expected.csv")

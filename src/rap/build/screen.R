# DfE's EES screener (R package eesyscreener) on every data/meta CSV pair of a folder, for rap.build.screener.
# Usage: Rscript screen.R DIR RESULTS_CSV
# Writes one row per check and file (file, check, result, stage, message) and, per file, a row with check
# "overall" whose result is PASSED or FAILED and whose message says whether the file suits the EES API.
suppressPackageStartupMessages(library(eesyscreener))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: screen.R DIR RESULTS_CSV")
files <- sort(list.files(args[[1]], pattern = "\\.csv$", full.names = TRUE))
files <- files[!grepl("\\.meta\\.csv$", files)]
rows <- list()
for (datapath in files) {
  metapath <- sub("\\.csv$", ".meta.csv", datapath)
  name <- basename(datapath)
  res <- tryCatch(suppressMessages(screen_csv(datapath, metapath)), error = function(e) e)
  if (inherits(res, "error")) {
    rows[[name]] <- data.frame(file = name, check = "overall", result = "ERROR", stage = "",
                               message = conditionMessage(res))
    next
  }
  tab <- as.data.frame(res$results_table)[, c("check", "result", "stage", "message")]
  overall <- data.frame(check = "overall", result = if (isTRUE(res$passed)) "PASSED" else "FAILED",
                        stage = as.character(res$overall_stage),
                        message = paste0("api_suitable=", isTRUE(res$api_suitable)))
  rows[[name]] <- cbind(file = name, rbind(tab, overall))
}
utils::write.csv(do.call(rbind, rows), args[[2]], row.names = FALSE)
cat(sprintf("eesyscreener %s: %d files\n", as.character(packageVersion("eesyscreener")), length(files)))

#!/usr/bin/env bash
# Turns the benchmark CSVs into the PNG plots the README shows (gnuplot):
#   docs/img/allreduce-busbw.png    bus bandwidth vs message size, raw MPI_Allreduce and hvd
#   docs/img/allreduce-ratio.png    hvd throughput as a fraction of raw MPI's, per size
#   docs/img/steady-state.png       ResNet-50 gradient step time, per variant
# Reads out/bench-allreduce.csv and out/bench-steady-state.csv (scripts/bench-allreduce.sh
# and scripts/bench-steady-state.sh write them); a missing CSV skips its plot.
#   bash scripts/plot-bench.sh [out-dir]     # default: docs/img
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
command -v gnuplot >/dev/null || { echo "gnuplot missing: run scripts/install-deps.sh" >&2; exit 2; }
dest=${1:-docs/img}
mkdir -p "$dest"
cores=$(nproc)
made=0

if [[ -f out/bench-allreduce.csv ]]; then
  sweep=$(mktemp)
  grep '^sweep,' out/bench-allreduce.csv | tr ',' ' ' >"$sweep"
  ranks=$(head -n 1 "$sweep" | cut -d' ' -f2)
  gnuplot <<GNUPLOT
set terminal pngcairo size 900,500 font ",11" noenhanced
set datafile separator " "
set logscale x 2
set format x "%.0b%B"
set xlabel "message size (bytes)"
set key top left
set grid
set output "$dest/allreduce-busbw.png"
set title "allreduce bus bandwidth, $ranks ranks on one $cores-core host"
set ylabel "busbw (GB/s)"
plot "$sweep" using 3:8 with linespoints title "raw MPI_Allreduce", \
     "$sweep" using 3:9 with linespoints title "hvd::allreduce"
set output "$dest/allreduce-ratio.png"
set title "hvd::allreduce throughput / raw MPI_Allreduce (same run)"
set ylabel "ratio"
set logscale y 2
set yrange [0.01:32]
plot "$sweep" using 3:10 with linespoints title "hvd / raw", 1 with lines dashtype 2 title "parity"
GNUPLOT
  rm -f "$sweep"
  echo "wrote $dest/allreduce-busbw.png $dest/allreduce-ratio.png"
  made=$((made + 2))
fi

if [[ -f out/bench-steady-state.csv ]]; then
  steady=$(mktemp)
  # case,ranks,session,seconds -> one "label median-ms" row per variant (latency and
  # block-by-block speedup rows and the (f) subset apart).
  grep -v '^latency\|^speedup\|^f_\|^case,' out/bench-steady-state.csv | sort -t, -k1,1 -k4,4g |
    awk -F, '{ v[$1] = v[$1] " " $4; n[$1]++ }
      END { for (c in n) { split(substr(v[c], 2), a, " "); h = int(n[c] / 2);
            m = n[c] % 2 ? a[h + 1] : (a[h] + a[h + 1]) / 2;
            label = c; sub(/^[a-e]_/, "", label); gsub(/_/, " ", label);
            printf "%s \"(%s) %s\" %.3f\n", substr(c, 1, 1), substr(c, 1, 1), label, m * 1e3 } }' |
    sort | cut -d' ' -f2- >"$steady"
  gnuplot <<GNUPLOT
set terminal pngcairo size 900,500 font ",11" noenhanced
set output "$dest/steady-state.png"
stats "$steady" using 2 nooutput
set title "ResNet-50 gradient set (161 tensors, 25.5 M params) per iteration, $cores-core host"
set ylabel "ms per iteration (lower is better)"
set style fill solid 0.6
set boxwidth 0.6
set grid ytics
set yrange [0:STATS_max * 1.15]
set xtics rotate by -20
plot "$steady" using 0:2:xtic(1) with boxes notitle, \
     "" using 0:2:(sprintf("%.1f", \$2)) with labels offset 0,1 notitle
GNUPLOT
  rm -f "$steady"
  echo "wrote $dest/steady-state.png"
  made=$((made + 1))
fi
((made > 0)) || { echo "no benchmark CSVs in out/: run scripts/bench-*.sh first" >&2; exit 1; }

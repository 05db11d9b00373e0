#!/usr/bin/env bash
# Synthetic training benchmark on 1 and 2 ranks (or $NPS) for the MLP and the ResNet-style
# CNN; writes out/bench-training.csv and prints the scaling efficiency
# (total images/sec on N ranks / (N x images/sec on 1 rank)).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
nps=${NPS:-"1 2"}
bash scripts/install-deps.sh
hvd_build build -DCMAKE_BUILD_TYPE=Release >/dev/null
mkdir -p out
csv=out/bench-training.csv
rm -f "$csv"
for model in mlp resnet; do
  for np in $nps; do
    echo "== $model, $np rank(s) =="
    "${HVD_MPIRUN[@]}" -np "$np" build/examples/synthetic_benchmark --model "$model" --csv "$csv" "$@"
  done
done
echo "== scaling efficiency =="
awk -F, 'NR > 1 { total[$1","$2] = $8; if ($2 == 1) one[$1] = $8 }
         END { for (k in total) { split(k, a, ","); if (a[2] > 1 && one[a[1]] > 0)
               printf "%s: %s ranks: %.2f\n", a[1], a[2], total[k] / (a[2] * one[a[1]]) } }' "$csv"
echo "wrote $csv"

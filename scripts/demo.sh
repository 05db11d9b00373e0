#!/usr/bin/env bash
# Installs what is missing, builds, and trains the Fashion-MNIST example on 2 ranks
# (2 epochs, about 2 minutes on 2 cores), printing progress and the test accuracy.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
bash scripts/install-deps.sh
echo "== build =="
hvd_build build -DCMAKE_BUILD_TYPE=Release -DHOROVOD_CPP_BUILD_TESTS=OFF
echo "== train Fashion-MNIST on 2 ranks =="
"${HVD_MPIRUN[@]}" -np 2 build/examples/fashion_mnist "$@"

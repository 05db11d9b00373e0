# Shared by the scripts: repo root, build dir, job count, and the mpirun line for this machine.
# shellcheck shell=bash
HVD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HVD_JOBS=${HVD_JOBS:-2}
# Root needs --allow-run-as-root; a 2-core machine needs --oversubscribe for more ranks.
HVD_MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none)

# hvd_build <build-dir> [cmake args...]: configure (once) and build with HVD_JOBS jobs.
hvd_build() {
  local dir=$1
  shift
  cmake -S "$HVD_ROOT" -B "$dir" "$@" >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log"
    return 1
  }
  cmake --build "$dir" -j "$HVD_JOBS"
}

# hvd_debian_package <suite> <component> <package> <dir>: downloads the build of <package> that
# Debian's <suite>/<component> index lists now (HVD_DEBIAN_MIRROR, else deb.debian.org), checks
# it against the index's SHA256 and unpacks it into <dir>/root; <dir>/package names the .deb.
# The index is kept in <dir> for an hour, for the next package of the same suite. Fails, saying
# why, when the index or the package cannot be had.
hvd_debian_package() {
  local suite=$1 component=$2 package=$3 dir=$4
  local mirror=${HVD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local index=$dir/Packages.$suite.$component path sha256
  mkdir -p "$dir"
  if [[ -z $(find "$index" -mmin -60 -size +0 2>/dev/null) ]]; then
    curl -fsS --max-time 120 "$mirror/dists/$suite/$component/binary-amd64/Packages.xz" |
      xz -d >"$index.part" && mv "$index.part" "$index" || {
      echo "hvd_debian_package: no $suite/$component index from $mirror"
      return 1
    }
  fi
  read -r path sha256 < <(awk -v p="$package" '$0 == "Package: " p {found = 1}
      found && /^Filename:/ {path = $2} found && /^SHA256:/ {sum = $2}
      found && /^$/ {exit} END {print path, sum}' "$index")
  [[ -n $path && -n $sha256 ]] || {
    echo "hvd_debian_package: $suite/$component lists no $package"
    return 1
  }
  curl -fsS --max-time 300 -o "$dir/package.deb" "$mirror/$path" &&
    echo "$sha256  $dir/package.deb" | sha256sum -c --quiet || {
    echo "hvd_debian_package: $mirror/$path did not download intact"
    return 1
  }
  rm -rf "$dir/root"
  dpkg-deb -x "$dir/package.deb" "$dir/root"
  basename "$path" >"$dir/package"
}

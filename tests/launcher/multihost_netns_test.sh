#!/usr/bin/env bash
# Multi-host behaviour on one machine: two "hosts" are Linux network namespaces joined to a
# bridge by veth pairs, in a private test subnet; Open MPI reaches them through
# netns_agent.sh instead of ssh. hvdrun starts 4 ranks, 2 per host, from a hostfile; every
# rank checks its local/cross topology and an allreduce and allgather across the hosts, and
# the test checks that the traffic crossed the veth interfaces. Exits 77 (ctest: skipped),
# saying why, where namespaces cannot be made (not root, no `ip`, no CAP_NET_ADMIN).
#   multihost_netns_test.sh <hvdrun> <topology_probe>
set -uo pipefail
hvdrun=$1
probe=$2
here=$(cd "$(dirname "$0")" && pwd)
skip() {
  echo "SKIPPED: $*"
  exit 77
}
[[ $(id -u) == 0 ]] || skip "needs root to create network namespaces"
command -v ip >/dev/null || skip "needs iproute2's ip"

tag="hvd$$"
subnet=10.231.77
bridge="${tag}br"
namespaces=("${tag}a" "${tag}b")
addresses=("$subnet.1" "$subnet.2")
cleanup() {
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  ip link del "$bridge" 2>/dev/null
  rm -rf "$work"
}
work=$(mktemp -d)
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "${namespaces[0]}" 2>"$work/err" || skip "cannot create a namespace: $(cat "$work/err")"
ip netns add "${namespaces[1]}"
ip link add "$bridge" type bridge || skip "cannot create a bridge"
ip addr add "$subnet.254/24" dev "$bridge"
ip link set "$bridge" up
for i in 0 1; do
  ns=${namespaces[$i]}
  ip link add "${tag}v$i" type veth peer name "${tag}p$i"
  ip link set "${tag}v$i" master "$bridge" up
  ip link set "${tag}p$i" netns "$ns"
  ip -n "$ns" addr add "${addresses[$i]}/24" dev "${tag}p$i"
  ip -n "$ns" link set "${tag}p$i" up
  ip -n "$ns" link set lo up
done
rx_bytes() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_bytes"; }

printf '%s slots=2\n%s slots=2\n' "${addresses[@]}" >"$work/hostfile"
export HVD_NETNS_MAP="${addresses[0]}=${namespaces[0]} ${addresses[1]}=${namespaces[1]}"
failures=0
fail() {
  echo "FAILED: $*"
  failures=$((failures + 1))
}
# The same job twice: hosts from a hostfile with the hierarchical allreduce (the probe's
# simulated-GPU allreduce then reduces within each host and across them over MPI), then from -H
# with --start-timeout (the ranks check in with hvdrun across the bridge), flat.
for hosts in "--hostfile $work/hostfile --hierarchical-allreduce" "-H ${addresses[0]}:2,${addresses[1]}:2 --start-timeout 60 --verbose"; do
  path=flat
  [[ $hosts == *--hierarchical-allreduce* ]] && path=hierarchical
  before=$(rx_bytes "${namespaces[1]}" "${tag}p1")
  # shellcheck disable=SC2086 # $hosts is several words on purpose
  out=$("$hvdrun" -np 4 $hosts --network-interface "$subnet.0/24" \
    -x HVD_EXPECT_SLOTS=2,2 -x HVD_NETNS_MAP \
    --mpi-args "--mca plm_rsh_agent $here/netns_agent.sh --mca plm_rsh_no_tree_spawn 1" \
    "$probe" 2>&1)
  rc=$?
  after=$(rx_bytes "${namespaces[1]}" "${tag}p1")
  echo "== hvdrun -np 4 $hosts"
  echo "$out"
  [[ $rc == 0 ]] || fail "$hosts: hvdrun exit status $rc"
  for r in 0 1 2 3; do
    local_rank=$((r % 2))
    cross_rank=$((r / 2))
    grep -q "^\[1,$r\]<stdout>: \?topology_probe rank $r/4 local $local_rank/2 cross $cross_rank/2 .*, device $path: ok$" \
      <<<"$out" || fail "$hosts: rank $r: no ok line with local $local_rank/2 cross $cross_rank/2, device $path"
  done
  # The probe's 1 MiB allreduce alone sends host B's ranks half a MiB or more from host A.
  ((after - before > 500000)) || fail "$hosts: only $((after - before)) bytes reached host B"
  if [[ $hosts == *--start-timeout* ]]; then
    grep -q "^hvdrun: all 4 ranks started in " <<<"$out" || fail "$hosts: no check-in from rank 0"
    grep -q "HOROVOD_HVDRUN_CHECKIN=[0-9a-f]*@$subnet.254,127.0.0.1:" <<<"$out" ||
      fail "$hosts: check-in address is not the bridge's"
  fi
  echo "host B's interface received $((after - before)) bytes during the run"
done
((failures == 0)) || exit 1
echo "multihost_netns_test: 4 ranks on 2 namespace hosts: topology, allreduce, allgather, hierarchical device allreduce ok"

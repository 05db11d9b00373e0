#!/usr/bin/env bash
# Open MPI's remote launcher for the namespace "hosts" of multihost_netns_test.sh, in place of
# ssh: `netns_agent.sh <host address> <command...>` runs the command in the network namespace
# that owns that address. HVD_NETNS_MAP lists "address=namespace" pairs, space-separated.
set -euo pipefail
host=$1
shift
for pair in ${HVD_NETNS_MAP:?}; do
  if [[ "${pair%%=*}" == "$host" ]]; then
    # A host of its own also needs its own host name: Open MPI names shared-memory segments
    # and session directories after it, and two "hosts" sharing one would clobber each other's.
    # Then, like ssh, hand the words to a shell: Open MPI sends "VAR=...; export VAR; orted ...".
    ns=${pair#*=}
    exec ip netns exec "$ns" unshare --uts /bin/sh -c 'hostname "$0" && exec /bin/sh -c "$1"' \
      "$ns" "$*"
  fi
done
echo "netns_agent: no namespace for host '$host' in HVD_NETNS_MAP='$HVD_NETNS_MAP'" >&2
exit 255

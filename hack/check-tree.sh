#!/usr/bin/env bash
# Fails when a tracked file is a build output: over 1 MiB, or an executable
# binary (ELF, Mach-O or PE). The repository holds sources only.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r -d '' f; do
  [[ -f $f ]] || continue # deleted in the work tree
  size=$(stat -c %s -- "$f")
  if ((size > 1048576)); then
    echo "tracked file over 1 MiB ($size bytes): $f" >&2
    bad=1
  fi
  magic=$(head -c 4 -- "$f" | od -An -tx1 | tr -d ' \n')
  case $magic in
  7f454c46 | cffaedfe | cefaedfe | feedfacf | feedface | 4d5a*)
    echo "tracked file is an executable binary: $f" >&2
    bad=1
    ;;
  esac
done < <(git ls-files -z)
exit $bad

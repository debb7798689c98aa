#!/usr/bin/env bash
# fetchdata.sh DIR: fetches the public data the real-name suggester sets are built from into DIR
# (default match/testdata/realnames, which git ignores). Nothing fetched here is committed.
#
# Sources and licences (checked against each repository's LICENSE file or the publisher):
#   ror/    Research Organization Registry records, github.com/ror-community/ror-records
#           (repository licence MIT; ROR publishes its data under CC0 1.0). Every release
#           directory holds the records created or changed in that release; they are unpacked in
#           release order so the newest version of each record wins.
#   affil/  Affiliation strings labelled with ROR IDs by publishers (Crossref publisher
#           assertions, Springer Nature), github.com/ror-community/affiliation-matching-experimental
#           (MIT).
#   ofac/   The US Treasury's SDN list (sdn.csv, a work of the US government: public domain),
#           from the git scrape github.com/jackdwyer/specially-designated-nationals-list at its
#           last non-empty version (2024-05-03); treasury.gov/ofac/downloads/sdn.csv is the
#           original when reachable. Its remarks hold only OFAC's weak aliases. The other names
#           (alt.csv, public domain too) come from the copy of 2026-06-02 in
#           github.com/mino6225/eurasian-risk-screener (treasury.gov/ofac/downloads/alt.csv is the
#           original); an entity's number never changes, so the two files join on it.
#
# Set ROR_RECORDS_GIT, AFFIL_GIT, SDN_GIT or ALT_GIT to an existing clone to skip the download.
set -euo pipefail

dir=${1:-match/testdata/realnames}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

clone() { # clone URL VAR: prints a git directory holding URL's default branch
	local url=$1 given=$2
	if [ -n "$given" ]; then echo "$given"; return; fi
	local to="$work/$(basename "$url").git"
	git clone --quiet --bare "$url" "$to"
	echo "$to"
}

ror=$(clone https://github.com/ror-community/ror-records "${ROR_RECORDS_GIT:-}")
rm -rf "$dir/ror" && mkdir -p "$dir/ror"
for v in $(git --git-dir="$ror" ls-tree --name-only HEAD | grep -E '^v[0-9]+(\.[0-9]+)*$' | sort -V); do
	git --git-dir="$ror" archive HEAD "$v" | tar -x --strip-components=1 -C "$dir/ror" --wildcards '*.json'
done
echo "ror: $(find "$dir/ror" -name '*.json' | wc -l) records ($(git --git-dir="$ror" rev-parse HEAD))"

affil=$(clone https://github.com/ror-community/affiliation-matching-experimental "${AFFIL_GIT:-}")
mkdir -p "$dir/affil"
git --git-dir="$affil" show HEAD:test_data/Crossref_publisher_assertions/20230628_Crossref_publisher_asserted_affiliation_string_ROR_IDs.csv >"$dir/affil/crossref.csv"
git --git-dir="$affil" show HEAD:test_data/Springer/20231031_springer_nature.csv >"$dir/affil/springer.csv"
echo "affil: $(cat "$dir"/affil/*.csv | wc -l) lines ($(git --git-dir="$affil" rev-parse HEAD))"

sdn=$(clone https://github.com/jackdwyer/specially-designated-nationals-list "${SDN_GIT:-}")
mkdir -p "$dir/ofac"
git --git-dir="$sdn" show a5ec3c5:sdn.csv >"$dir/ofac/sdn.csv"
echo "ofac: $(wc -l <"$dir/ofac/sdn.csv") lines"

alt=$(clone https://github.com/mino6225/eurasian-risk-screener "${ALT_GIT:-}")
git --git-dir="$alt" show 77f0427763b752da7064b18f913976913f1e5627:alt.csv >"$dir/ofac/alt.csv"
echo "ofac: $(wc -l <"$dir/ofac/alt.csv") other names"

cat >"$dir/SOURCES.txt" <<TXT
ror/   github.com/ror-community/ror-records $(git --git-dir="$ror" rev-parse HEAD) (MIT; data CC0 1.0)
affil/ github.com/ror-community/affiliation-matching-experimental $(git --git-dir="$affil" rev-parse HEAD) (MIT)
ofac/  github.com/jackdwyer/specially-designated-nationals-list a5ec3c5 sdn.csv (US government work, public domain)
ofac/  github.com/mino6225/eurasian-risk-screener 77f0427 alt.csv (US government work, public domain)
TXT

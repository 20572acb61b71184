#!/bin/sh
# Build the English prose corpus used for held-out quality measurements, from texts that a
# Debian 12 machine with Go has on disk, with no network:
#
#   licences      /usr/share/common-licenses   (package base-files)
#   Go's docs     $(go env GOROOT)/doc/go_mem.html, go_spec.html, markup and <pre> code removed
#   GNU manuals   /usr/share/info: gzip, grep, sed, diffutils, findutils, coreutils (packages of
#                 those names; info pages must not be excluded by dpkg's path-exclude, as
#                 slim container images do)
#
# in that order, info navigation (node headers, menus, index entries and markers, tag
# tables) removed, tabs made spaces, lines stripped of leading and trailing spaces, runs of
# blank lines squeezed to one, and the whole cut to LIMIT bytes (default 1 MiB) less the
# last, possibly broken, line. Needs sh, awk, sed, gzip, perl and go. The same package versions
# give the same bytes: the script prints the size and sha256 to compare against
# bench/RESULTS.md. Quality split: the first 90% of the bytes train, the last 10% are held
# out (see bench/quality_torch.py).
#
#   bench/corpus/build.sh /tmp/prose.txt [LIMIT]
set -eu
out=${1:?usage: bench/corpus/build.sh OUTPUT [LIMIT_BYTES]}
limit=${2:-1048576}
export LC_ALL=C

need() {
	if [ ! -r "$1" ]; then
		echo "bench/corpus/build.sh: missing $1 (install package $2)" >&2
		exit 1
	fi
}

goroot=$(go env GOROOT)
licences="GPL-3 LGPL-3 GFDL-1.3 Apache-2.0 MPL-2.0 Artistic BSD CC0-1.0"
info="gzip.info grep.info sed.info diffutils.info find.info-1 find.info-2 coreutils.info"
for f in $licences; do need /usr/share/common-licenses/$f base-files; done
for f in go_mem.html go_spec.html; do need "$goroot/doc/$f" "Go (go env GOROOT)"; done
for f in $info; do need /usr/share/info/$f.gz "${f%%.*}"; done

# Markup off an HTML file: the header comment, <style> and <pre> blocks, tags, entities.
html_text() {
	awk '
		/^<!--\{/ { skip = 1 }
		skip && /^\}-->/ { skip = 0; next }
		/<style>/ { skip = 1 }
		skip && /<\/style>/ { skip = 0; next }
		/<pre[ >]/ { pre = 1 }
		pre { if (/<\/pre>/) pre = 0; next }
		!skip { print }
	' "$1" | sed -e 's/<[^>]*>//g' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' \
		-e "s/&#39;/'/g" -e 's/&nbsp;/ /g' -e 's/&amp;/\&/g'
}

# Navigation off an info file: node headers, menus, index entries, tag tables.
info_text() {
	gzip -dc "$1" | awk '
		/^\037/ { header = 1; next }
		header { header = 0; if (/^(File|Tag Table|Indirect|End Tag Table|Local Variables)/) { if (!/^File/) skip = 1; next } }
		/^\037?End Tag Table/ { skip = 0; next }
		skip { next }
		/^\* Menu:/ { next }
		/^\* [^:]*::/ { next }
		/^\* .*\(line +[0-9]+\)$/ { next }
		{ print }
	'
}

{
	for f in $licences; do cat /usr/share/common-licenses/$f; echo; done
	for f in go_mem.html go_spec.html; do html_text "$goroot/doc/$f"; echo; done
	for f in $info; do info_text /usr/share/info/$f.gz; echo; done
} | perl -pe 's/\0\010\[[^\]]*\0\010\]//g; tr/\t/ /; s/^ +//; s/ +$//' | cat -s > "$out.full"
if [ "$(wc -c < "$out.full")" -gt "$limit" ]; then
	# Cut to limit bytes and drop the last line, which the cut may have broken.
	head -c "$limit" "$out.full" | sed '$d' > "$out"
	rm "$out.full"
else
	mv "$out.full" "$out"
fi
size=$(wc -c < "$out")
sum=$(sha256sum "$out" | cut -d' ' -f1)
echo "$out: $size bytes, sha256 $sum"

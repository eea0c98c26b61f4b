#!/usr/bin/env bash
# Vendor the front-end packages pinned in package-lock.json into static/ (committed; no CDN).
#
#   static/vendor/nhsuk-frontend/  NHS.UK frontend: CSS built from the package's Sass, its ES-module JS,
#                                  and the images the CSS and page head refer to
#   static/vendor/htmx/            htmx.min.js
#   tests/e2e/axe.min.js           axe-core, injected into pages by the browser accessibility tests
#
# The package's compiled CSS loads the Frutiger web fonts from assets.nhs.uk. Our Content Security
# Policy allows fonts from this site only, and a clinical system should not call out to another host
# on every page, so the CSS is rebuilt with the @font-face rules left out: text falls back to Arial.
# Run from anywhere: `bash scripts/vendor-static.sh`. Re-run after changing a version in package.json
# (then `npm install` first to update package-lock.json).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

npm ci --ignore-scripts --no-audit --no-fund

pkg=node_modules/nhsuk-frontend/dist/nhsuk
nhsuk=static/vendor/nhsuk-frontend
rm -rf "$nhsuk" static/vendor/htmx
mkdir -p "$nhsuk/assets/images" static/vendor/htmx tests/e2e

# CSS. Image URLs are made relative to the CSS file ("assets/images/…"), so they resolve under
# STATIC_URL and survive ManifestStaticFilesStorage's hashing. The page is widened from NHS.UK's
# 960px to 1200px: staff use this on laptops, with wide tables.
node_modules/.bin/sass --stdin --no-source-map --style=compressed --quiet-deps --pkg-importer=node \
  "$nhsuk/nhsuk-frontend.min.css" <<'SCSS'
@use "pkg:nhsuk-frontend" as nhsuk with (
  $nhsuk-include-default-font-face: false,
  $nhsuk-font-family: (arial, sans-serif),
  $nhsuk-assets-path: "assets/",
  $nhsuk-page-width: 1200px
);
// NHS.UK frontend sets the page font only alongside its own @font-face rules; set it here instead.
html {
  font-family: nhsuk.$nhsuk-font-family;
}
SCSS
if grep -q '@font-face' "$nhsuk/nhsuk-frontend.min.css" || ! grep -q 'html{font-family:arial,sans-serif}' "$nhsuk/nhsuk-frontend.min.css"; then
  echo "vendor-static: the CSS should set Arial and load no web font" >&2
  exit 1
fi

# JS: one ES module exporting initAll() and the component classes. Its source map is not shipped,
# so drop the comment that points at it (ManifestStaticFilesStorage would fail on the missing file).
sed 's|//# sourceMappingURL=[^ ]*$||' "$pkg/nhsuk-frontend.min.js" > "$nhsuk/nhsuk-frontend.min.js"

# Images: the icons the CSS uses, and the favicons the page head links to.
find "$pkg/assets/images" -type f ! -name 'nhsuk-opengraph-image.png' -exec cp {} "$nhsuk/assets/images/" \;

cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx/htmx.min.js
cp node_modules/axe-core/axe.min.js tests/e2e/axe.min.js

# Record what was vendored, for reviewers and `git diff`.
node -e '
  const v = (p) => require(`./node_modules/${p}/package.json`).version;
  console.log(["nhsuk-frontend", "htmx.org", "axe-core", "sass"].map((p) => `${p} ${v(p)}`).join("\n"));
' > static/vendor/VERSIONS.txt

# Nothing we ship may load from another host: no absolute URL at all in the CSS or JS.
shipped=("$nhsuk/nhsuk-frontend.min.css" "$nhsuk/nhsuk-frontend.min.js" static/vendor/htmx/htmx.min.js)
if grep -Eno "https?://[^\"') ]*" "${shipped[@]}"; then
  echo "vendor-static: a shipped file names another host (above)" >&2
  exit 1
fi
cat static/vendor/VERSIONS.txt

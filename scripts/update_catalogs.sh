#!/usr/bin/env bash
# Re-extracts deskmail's messages and merges them into every language's catalogue; translate what turns up
# empty or fuzzy in chalicelib/locales/*/LC_MESSAGES/deskmail.po, then run the i18n tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-$( [ -x .venv/bin/pybabel ] && echo .venv/bin/pybabel || echo pybabel )}"
LOCALES=(it de es fr)

"$PYBABEL" extract -F babel.cfg -k _ -k gettext -k N_ -k ngettext:1,2 --project deskmail --sort-by-file --no-location \
    -o chalicelib/locales/deskmail.pot chalicelib app.py
# --width 120: the .po files keep the layout they have in git (lines wrapped at 120, like the code).
for locale in "${LOCALES[@]}"; do
    if [ -f "chalicelib/locales/$locale/LC_MESSAGES/deskmail.po" ]; then
        "$PYBABEL" update -i chalicelib/locales/deskmail.pot -d chalicelib/locales -D deskmail -l "$locale" --width 120
    else
        "$PYBABEL" init -i chalicelib/locales/deskmail.pot -d chalicelib/locales -D deskmail -l "$locale" --width 120
    fi
done
# Compiled catalogues are build output (*.mo is gitignored); compile them for local runs.
"$PYBABEL" compile -d chalicelib/locales -D deskmail --statistics

#!/usr/bin/env python3
"""Writes the files of a tutorial page into a crate folder.

Usage: extract.py PAGE CRATE_DIR SKIFF_PATH

Each fenced block preceded by a `<!-- file: PATH -->` line becomes CRATE_DIR/PATH.
The dependency on skiff (`path = "../skiff/shared"` on the page) is pointed at
SKIFF_PATH. A page with no files, or a Cargo.toml without that dependency, stops
with an error: the test must never pass by building nothing.
"""

import os
import re
import sys

page, crate_dir, skiff_path = sys.argv[1:]
text = open(page).read()
files = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", text, re.S)
if not files:
    sys.exit(f"extract.py: {page} names no files")
for path, body in files:
    if path == "Cargo.toml":
        pointed = body.replace('path = "../skiff/shared"', f'path = "{skiff_path}"')
        if pointed == body:
            sys.exit('extract.py: Cargo.toml has no path = "../skiff/shared" dependency')
        body = pointed
    target = os.path.join(crate_dir, path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w") as out:
        out.write(body)
print(f"   {len(files)} files from {page}")

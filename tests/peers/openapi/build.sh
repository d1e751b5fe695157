#!/bin/bash
# Rebuilds tests/fuzz/corpus/fuzz_jar_routes/openapi.jar (a seed of
# fuzz_jar_routes and the jar of test_jar_routes' test_inherited_mappings)
# from these sources: a controller that takes its method mappings from an
# interface, as openapi-generator's Spring server code does, under a
# ${openapi.petstore.base-path:/v2} that the jar's application.yml sets;
# mappings inherited from an abstract class; a @FeignClient interface
# (FeignClient here is a stand-in with the same name) and a class that
# implements it. Needs javac and Spring's spring-web jar (Maven's cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
web=$(ls ~/.m2/repository/org/springframework/spring-web/*/spring-web-*.jar | grep -v sources | head -1)
javac -d "$out/classes" -cp "$web" $(find "$here/src" -name '*.java')
python3 - "$out/classes" "$here/../../fuzz/corpus/fuzz_jar_routes/openapi.jar" <<'PY'
import os, sys, zipfile
classes, jar = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
    for root, _, files in sorted(os.walk(os.path.join(classes, "org", "openapitools"))):
        for f in sorted(files):
            p = os.path.join(root, f)
            z.write(p, "BOOT-INF/classes/" + os.path.relpath(p, classes))
    z.writestr("BOOT-INF/classes/application.yml",
               "openapi:\n  petstore:\n    base-path: /api/v3\n"
               "server:\n  servlet:\n    context-path: /petstore\n")
PY

#!/bin/bash
# Rebuilds the jars of tests/fuzz/corpus/fuzz_jar_routes that
# tests/unit/test_jar_routes.c reads (and fuzz_jar_routes starts from):
#  openapi.jar   a Spring Boot jar: a controller taking its mappings from an
#                interface, as openapi-generator's Spring code does, under a
#                ${openapi.petstore.base-path:/v2} its application.yml sets;
#                mappings inherited from an abstract class; a @FeignClient
#                interface and a class implementing it. Compiled against
#                Spring's spring-web jar (Maven's cache).
#  jaxrs.jar     JAX-RS resources with their classes at the jar's root (as a
#                Dropwizard or Jersey fat jar): @ApplicationPath, @Path on
#                classes, methods and an interface, a sub-resource locator.
#  jersey-boot.jar the same in a Spring Boot jar whose application.properties
#                sets spring.jersey.application-path over @ApplicationPath.
#  micronaut.jar Micronaut controllers (@Controller, @Get, @Post(uri=...)).
# The JAX-RS, Micronaut and FeignClient annotations are stand-ins with the
# real ones' names (all a class file keeps of them); they stay out of the
# jars, as the real ones are in other jars.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/../../fuzz/corpus/fuzz_jar_routes
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
web=$(ls ~/.m2/repository/org/springframework/spring-web/*/spring-web-*.jar | grep -v sources | head -1)
javac -d "$out/openapi" -cp "$web" $(find "$here/openapi/src" -name '*.java')
javac -d "$out/jaxrs" $(find "$here/jaxrs/src" -name '*.java')
javac -d "$out/micronaut" $(find "$here/micronaut/src" -name '*.java')
python3 - "$out" "$corpus" <<'PY'
import os, sys, zipfile
out, corpus = sys.argv[1], sys.argv[2]

def jar(name, classes, pkg, prefix, extra):
    with zipfile.ZipFile(os.path.join(corpus, name), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        for root, _, files in sorted(os.walk(os.path.join(classes, *pkg.split("/")))):
            for f in sorted(files):
                p = os.path.join(root, f)
                z.write(p, prefix + os.path.relpath(p, classes))
        for path, text in extra.items():
            z.writestr(os.path.normpath(prefix + path), text)

jar("openapi.jar", os.path.join(out, "openapi"), "org/openapitools", "BOOT-INF/classes/",
    {"application.yml": "openapi:\n  petstore:\n    base-path: /api/v3\n"
                        "server:\n  servlet:\n    context-path: /petstore\n"
                        "spring.mvc.webjars-path-pattern: /wj/**\n"
                        "spring.mvc.servlet.path: /app/\n"
                        "management.endpoints.web.exposure.include: health, metrics\n",
     # names of a Spring Boot MVC app's libraries (empty here)
     "../lib/spring-boot-3.5.0.jar": "", "../lib/spring-webmvc-6.2.12.jar": "",
     "../lib/spring-boot-actuator-3.5.0.jar": ""})
jar("jaxrs.jar", os.path.join(out, "jaxrs"), "com/example", "", {})
jar("jersey-boot.jar", os.path.join(out, "jaxrs"), "com/example", "BOOT-INF/classes/",
    {"application.properties": "spring.jersey.application-path=/rest\n"})
jar("micronaut.jar", os.path.join(out, "micronaut"), "com/example", "", {})
PY

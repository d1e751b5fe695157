/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The name of a Spring Boot application run from its unpacked jar.
 *
 * `java -jar app.jar` names the app by its jar. Buildpack images
 * (`spring-boot:build-image`, Paketo) and layered Dockerfiles instead
 * unpack the jar and run `java org.springframework.boot.loader.launch.
 * JarLauncher` in its directory: the command line names only the
 * launcher. The directory still says what the app is: the Maven
 * artifactId under META-INF/maven (what the jar's file name would have
 * been: `spring-petclinic`), else the manifest's Start-Class
 * (`PetClinicApplication`).
 */
#ifndef EBT_BOOT_NAME_H
#define EBT_BOOT_NAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Does the NUL-separated command line run a Spring Boot launcher
 * (JarLauncher, WarLauncher, PropertiesLauncher)? Then dir is the
 * directory it was loaded from: the first entry of -cp/-classpath/
 * --class-path, else "." (the JVM's default class path; a CLASSPATH
 * environment variable is not looked at).
 */
bool ebt_boot_launcher_dir(const char *cmd, size_t len, char *dir,
			   size_t dirsz);

/* Start-Class of a manifest's text (72-byte lines continued by a space),
 * as a simple class name. */
bool ebt_boot_manifest_class(const char *mf, char *out, size_t outsz);

/* artifactId of a Maven pom.properties text. */
bool ebt_boot_pom_artifact(const char *props, char *out, size_t outsz);

/*
 * The app's name from the unpacked jar at root (a path this process can
 * open, e.g. /proc/<pid>/cwd/.): the artifactId if META-INF/maven holds
 * exactly one project, else the Start-Class. False when neither is found.
 */
bool ebt_boot_app_name(const char *root, char *out, size_t outsz);

/*
 * The arguments a java @argfile holds (Jib's images run `java -cp
 * @/app/jib-classpath-file @/app/jib-main-class-file`): text[0..n) split
 * at white space, "..." and '...' quoting, '#' starting a comment line,
 * appended to out[*at..outsz) each with its NUL. False when out is full
 * (what fit is kept).
 */
bool ebt_java_argfile(const char *text, size_t n, char *out, size_t outsz,
		      size_t *at);

#endif

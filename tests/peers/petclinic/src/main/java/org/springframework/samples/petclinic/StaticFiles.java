package org.springframework.samples.petclinic;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.stereotype.Component;

/**
 * /resources/** is served by Tomcat's own DefaultServlet from a document root
 * on disk (not by Spring MVC from the jar), as a WAR-deployed PetClinic does:
 * with the NIO connector Tomcat answers files of 48 KiB and more with
 * sendfile(2), so the body never passes through write().
 */
@Component
public class StaticFiles implements WebServerFactoryCustomizer<TomcatServletWebServerFactory> {

	@Override
	public void customize(TomcatServletWebServerFactory factory) {
		try {
			Path root = Files.createTempDirectory("petclinic-docroot");
			Path css = root.resolve("resources/css/petclinic.css");
			Files.createDirectories(css.getParent());
			try (InputStream in = getClass().getResourceAsStream("/static/resources/css/petclinic.css")) {
				Files.copy(in, css, StandardCopyOption.REPLACE_EXISTING);
			}
			root.toFile().deleteOnExit();
			factory.setDocumentRoot(root.toFile());
			factory.setRegisterDefaultServlet(true);
			factory.addContextCustomizers(ctx -> ctx.addServletMappingDecoded("/resources/*", "default"));
		}
		catch (IOException e) {
			throw new UncheckedIOException(e);
		}
	}
}

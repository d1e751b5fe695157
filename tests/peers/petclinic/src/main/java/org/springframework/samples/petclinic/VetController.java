package org.springframework.samples.petclinic;

import java.net.URI;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.client.RestTemplateBuilder;
import org.springframework.boot.web.context.WebServerInitializedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestTemplate;

@RestController
public class VetController {

	private static final Logger log = LoggerFactory.getLogger(VetController.class);

	private final Clinic clinic;

	private final RestTemplate rest;

	/** Base URL of the vets service; empty: this very instance (loopback). */
	@Value("${petclinic.vets-url:}")
	private String vetsUrl;

	private int port;

	public VetController(Clinic clinic, RestTemplateBuilder builder) {
		this.clinic = clinic;
		// RestTemplate over HttpURLConnection: the call is made on the request thread
		this.rest = builder.build();
	}

	@EventListener
	public void onStarted(WebServerInitializedEvent e) {
		this.port = e.getWebServer().getPort();
	}

	@GetMapping(value = "/api/vets", produces = MediaType.APPLICATION_JSON_VALUE)
	public Map<String, Object> vets() {
		log.info("vets api: {} vets", clinic.vets().size());
		return Map.of("vetList", clinic.vets());
	}

	@GetMapping(value = "/vets.html", produces = MediaType.TEXT_HTML_VALUE)
	public String vetsPage() {
		log.info("vets page");
		StringBuilder sb = new StringBuilder("<table class=\"vets\">");
		for (Clinic.Vet v : clinic.vets()) {
			sb.append("<tr><td>").append(Clinic.esc(v.firstName() + " " + v.lastName())).append("</td><td>")
					.append(Clinic.esc(String.join(", ", v.specialties()))).append("</td></tr>");
		}
		return Clinic.page("Veterinarians", sb.append("</table>").toString());
	}

	/** Calls the vets service over HTTP: a client span inside this server span. */
	@GetMapping(value = "/owners/{ownerId}/vets", produces = MediaType.APPLICATION_JSON_VALUE)
	public Map<String, Object> vetsForOwner(@PathVariable int ownerId) {
		String base = vetsUrl.isEmpty() ? "http://127.0.0.1:" + port : vetsUrl;
		@SuppressWarnings("unchecked")
		Map<String, Object> got = rest.getForObject(URI.create(base + "/api/vets"), Map.class);
		List<?> list = got == null ? List.of() : (List<?>) got.getOrDefault("vetList", List.of());
		log.info("vets for owner {} from {}: {}", ownerId, base, list.size());
		return Map.of("ownerId", ownerId, "vets", list.size());
	}
}

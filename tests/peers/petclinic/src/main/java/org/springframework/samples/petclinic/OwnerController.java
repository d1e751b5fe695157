package org.springframework.samples.petclinic;

import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.servlet.view.RedirectView;

@RestController
public class OwnerController {

	private static final Logger log = LoggerFactory.getLogger(OwnerController.class);

	private final Clinic clinic;

	public OwnerController(Clinic clinic) {
		this.clinic = clinic;
	}

	@GetMapping(value = "/", produces = MediaType.TEXT_HTML_VALUE)
	public String welcome() {
		log.info("welcome page");
		return Clinic.page("Welcome", "<p>Welcome to the PetClinic test peer.</p>");
	}

	@GetMapping(value = "/owners/find", produces = MediaType.TEXT_HTML_VALUE)
	public String findForm() {
		log.info("find owners form");
		return Clinic.page("Find Owners", "<form action=\"/owners\" method=\"get\">"
				+ "<input name=\"lastName\"><button type=\"submit\">Find Owner</button></form>");
	}

	@GetMapping(value = "/owners", produces = MediaType.TEXT_HTML_VALUE)
	public String search(@RequestParam(defaultValue = "") String lastName) {
		List<Clinic.Owner> found = clinic.byLastName(lastName);
		log.info("owner search lastName={} found {}", lastName, found.size());
		StringBuilder sb = new StringBuilder("<table class=\"owners\"><tr><th>Name</th><th>City</th><th>Pets</th></tr>\n");
		for (Clinic.Owner o : found) {
			sb.append("<tr><td><a href=\"/owners/").append(o.id()).append("\">").append(Clinic.esc(o.firstName()))
					.append(' ').append(Clinic.esc(o.lastName())).append("</a></td><td>").append(Clinic.esc(o.city()))
					.append("</td><td>").append(o.pets().size()).append("</td></tr>\n");
		}
		return Clinic.page("Owners", sb.append("</table>").toString());
	}

	@GetMapping(value = "/owners/{ownerId}", produces = MediaType.TEXT_HTML_VALUE)
	public String show(@PathVariable int ownerId) {
		Clinic.Owner o = clinic.owner(ownerId);
		if (o == null) {
			log.info("owner {} not found", ownerId);
			throw new ResponseStatusException(HttpStatus.NOT_FOUND, "no owner " + ownerId);
		}
		log.info("show owner {} {}", ownerId, o.lastName());
		StringBuilder sb = new StringBuilder("<table class=\"owner\"><tr><th>Name</th><td>")
				.append(Clinic.esc(o.firstName())).append(' ').append(Clinic.esc(o.lastName()))
				.append("</td></tr><tr><th>City</th><td>").append(Clinic.esc(o.city())).append("</td></tr></table>\n<h3>Pets</h3><ul>");
		for (Clinic.Pet p : o.pets()) {
			sb.append("<li>").append(Clinic.esc(p.name())).append(" (").append(Clinic.esc(p.type()))
					.append(") <a href=\"/owners/").append(o.id()).append("/pets/").append(p.id())
					.append("/visits/new\">Add visit</a></li>");
		}
		return Clinic.page("Owner Information", sb.append("</ul>").toString());
	}

	@PostMapping("/owners/new")
	public RedirectView create(@RequestParam String firstName, @RequestParam String lastName,
			@RequestParam(defaultValue = "") String city, @RequestParam(defaultValue = "") String address,
			@RequestParam(defaultValue = "") String telephone) {
		Clinic.Owner o = clinic.add(firstName, lastName, city, List.of());
		log.info("created owner {} {} {}", o.id(), firstName, lastName);
		RedirectView rv = new RedirectView("/owners/" + o.id(), true);
		rv.setStatusCode(HttpStatus.FOUND);
		return rv;
	}

	@GetMapping(value = "/owners/{ownerId}/pets/{petId}/visits/new", produces = MediaType.TEXT_HTML_VALUE)
	public String visitForm(@PathVariable int ownerId, @PathVariable int petId) {
		log.info("new visit form owner {} pet {}", ownerId, petId);
		return Clinic.page("New Visit", "<form method=\"post\"><input name=\"date\" type=\"date\">"
				+ "<input name=\"description\"><button type=\"submit\">Add Visit</button></form>");
	}

	@PostMapping("/owners/{ownerId}/pets/{petId}/visits/new")
	public ResponseEntity<Void> addVisit(@PathVariable int ownerId, @PathVariable int petId,
			@RequestParam(defaultValue = "") String description) {
		log.info("visit added owner {} pet {} description {}", ownerId, petId, description);
		return ResponseEntity.status(HttpStatus.FOUND).header("Location", "/owners/" + ownerId).build();
	}
}

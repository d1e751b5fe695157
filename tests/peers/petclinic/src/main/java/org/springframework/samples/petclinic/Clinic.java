package org.springframework.samples.petclinic;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.springframework.stereotype.Component;
import org.springframework.web.util.HtmlUtils;

/** In-memory owners, pets and vets; HTML rendered by hand (no template engine). */
@Component
public class Clinic {

	public record Pet(int id, String name, String type) {
	}

	public record Owner(int id, String firstName, String lastName, String city, List<Pet> pets) {
	}

	public record Vet(int id, String firstName, String lastName, List<String> specialties) {
	}

	private final Map<Integer, Owner> owners = new ConcurrentHashMap<>();

	private final AtomicInteger nextId = new AtomicInteger(1);

	private final List<Vet> vets = List.of(new Vet(1, "James", "Carter", List.of()),
			new Vet(2, "Helen", "Leary", List.of("radiology")),
			new Vet(3, "Linda", "Douglas", List.of("dentistry", "surgery")),
			new Vet(4, "Rafael", "Ortega", List.of("surgery")));

	public Clinic() {
		add("George", "Franklin", "Madison", List.of(new Pet(1, "Leo", "cat")));
		add("Betty", "Davis", "Sun Prairie", List.of(new Pet(2, "Basil", "hamster")));
		add("Eduardo", "Rodriquez", "McFarland", List.of(new Pet(3, "Rosy", "dog"), new Pet(4, "Jewel", "dog")));
		add("Harold", "Davis", "Windsor", List.of(new Pet(5, "Iggy", "lizard")));
	}

	public Owner add(String first, String last, String city, List<Pet> pets) {
		int id = nextId.getAndIncrement();
		Owner o = new Owner(id, first, last, city, new ArrayList<>(pets));
		owners.put(id, o);
		return o;
	}

	public Owner owner(int id) {
		return owners.get(id);
	}

	public List<Owner> byLastName(String prefix) {
		return owners.values().stream().filter(o -> o.lastName().startsWith(prefix == null ? "" : prefix))
				.sorted((a, b) -> Integer.compare(a.id(), b.id())).toList();
	}

	public List<Vet> vets() {
		return vets;
	}

	static String page(String title, String body) {
		StringBuilder sb = new StringBuilder();
		sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>PetClinic :: ")
				.append(HtmlUtils.htmlEscape(title))
				.append("</title><link rel=\"stylesheet\" href=\"/resources/css/petclinic.css\"></head>\n<body>\n")
				.append("<nav><a href=\"/\">Home</a> <a href=\"/owners/find\">Find owners</a> ")
				.append("<a href=\"/vets.html\">Veterinarians</a> <a href=\"/oups\">Error</a></nav>\n")
				.append("<div class=\"container\">\n<h2>").append(HtmlUtils.htmlEscape(title)).append("</h2>\n")
				.append(body).append("\n</div>\n</body></html>\n");
		return sb.toString();
	}

	static String esc(String s) {
		return HtmlUtils.htmlEscape(s == null ? "" : s);
	}
}

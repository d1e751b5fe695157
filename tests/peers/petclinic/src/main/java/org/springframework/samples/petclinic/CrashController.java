package org.springframework.samples.petclinic;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
public class CrashController {

	private static final Logger log = LoggerFactory.getLogger(CrashController.class);

	@GetMapping("/oups")
	public String triggerException() {
		log.info("oups: about to throw");
		throw new RuntimeException("Expected: controller used to showcase what happens when an exception is thrown");
	}
}

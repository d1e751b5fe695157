package org.openapitools.api;
import org.springframework.web.bind.annotation.*;
public interface PetApi {
    @RequestMapping(method = RequestMethod.GET, value = "/pet/{petId}")
    default String getPetById(@PathVariable("petId") Long petId) { return "pet"; }
    @RequestMapping(method = RequestMethod.POST, value = "/pet")
    default String addPet() { return "added"; }
    @GetMapping("/pet/findByStatus")
    default String findPetsByStatus() { return "list"; }
}

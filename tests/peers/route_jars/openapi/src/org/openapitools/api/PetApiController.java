package org.openapitools.api;
import org.springframework.web.bind.annotation.*;
@RestController
@RequestMapping("${openapi.petstore.base-path:/v2}")
public class PetApiController implements PetApi {
    @Override public String addPet() { return "mine"; }
}

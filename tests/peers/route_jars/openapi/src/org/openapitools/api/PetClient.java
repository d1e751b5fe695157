package org.openapitools.api;
import org.springframework.cloud.openfeign.FeignClient;
import org.springframework.web.bind.annotation.*;
@FeignClient(name = "pets")
public interface PetClient {
    @GetMapping("/remote/{id}") String get(@PathVariable("id") Long id);
}

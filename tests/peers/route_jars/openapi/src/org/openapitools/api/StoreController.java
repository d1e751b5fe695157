package org.openapitools.api;
import org.springframework.web.bind.annotation.*;
@RestController
@RequestMapping("/store")
public class StoreController extends BaseController {
    @GetMapping("/inventory") public String inventory() { return "inv"; }
}

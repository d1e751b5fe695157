package org.openapitools.api;
import org.springframework.web.bind.annotation.*;
public abstract class BaseController {
    @GetMapping("/health") public String health() { return "ok"; }
}

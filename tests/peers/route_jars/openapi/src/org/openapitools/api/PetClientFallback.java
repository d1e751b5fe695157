package org.openapitools.api;
public class PetClientFallback implements PetClient {
    public String get(Long id) { return "fallback"; }
}

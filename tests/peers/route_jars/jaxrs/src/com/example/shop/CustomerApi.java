package com.example.shop;
import jakarta.ws.rs.*;
@Path("customers")
public interface CustomerApi {
    @GET @Path("{customerId}") String get(String customerId);
}

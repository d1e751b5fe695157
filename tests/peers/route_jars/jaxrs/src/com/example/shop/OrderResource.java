package com.example.shop;
import jakarta.ws.rs.*;
@Path("/orders")
public class OrderResource {
    @GET public String list() { return "[]"; }
    @GET @Path("{orderId}") public String get(String orderId) { return "{}"; }
    @POST public String create() { return "{}"; }
    @DELETE @Path("/{orderId}/items/{itemId: [0-9]+}") public void remove() { }
    @Path("{orderId}/notes") public NoteLocator notes() { return new NoteLocator(); }
}

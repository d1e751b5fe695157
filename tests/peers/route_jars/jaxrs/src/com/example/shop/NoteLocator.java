package com.example.shop;
import jakarta.ws.rs.*;
/* A sub-resource: reached through a locator, no root resource of its own. */
public class NoteLocator {
    @GET @Path("{noteId}") public String note() { return "n"; }
}

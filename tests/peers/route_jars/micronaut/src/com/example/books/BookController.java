package com.example.books;
import io.micronaut.http.annotation.*;
@Controller("/books")
public class BookController {
    @Get public String list() { return "[]"; }
    @Get("/{isbn}") public String get(String isbn) { return "{}"; }
    @Post(uri = "/{isbn}/reviews") public String review(String isbn) { return "{}"; }
}

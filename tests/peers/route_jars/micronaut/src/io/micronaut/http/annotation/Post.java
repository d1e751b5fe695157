package io.micronaut.http.annotation;
import java.lang.annotation.*;
/* A stand-in with the name and shape of the Micronaut annotation. */
@Retention(RetentionPolicy.RUNTIME) @Target({ElementType.TYPE, ElementType.METHOD})
public @interface Post { String value() default "/"; String uri() default "/"; }

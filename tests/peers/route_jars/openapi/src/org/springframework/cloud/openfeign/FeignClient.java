package org.springframework.cloud.openfeign;
import java.lang.annotation.*;
@Retention(RetentionPolicy.RUNTIME) @Target(ElementType.TYPE)
public @interface FeignClient { String name() default ""; }

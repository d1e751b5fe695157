package jakarta.ws.rs;
import java.lang.annotation.*;
/* A stand-in with the name and shape of the JAX-RS annotation. */
@Retention(RetentionPolicy.RUNTIME) @Target(ElementType.METHOD)
public @interface DELETE { }

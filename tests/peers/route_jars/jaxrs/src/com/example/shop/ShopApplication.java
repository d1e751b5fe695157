package com.example.shop;
import jakarta.ws.rs.ApplicationPath;
@ApplicationPath("/api/*")
public class ShopApplication { }

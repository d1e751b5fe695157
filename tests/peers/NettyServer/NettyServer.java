// SPDX-License-Identifier: Apache-2.0
// A Netty 4.2 HTTP/1.1 server as reactive Java services run one (Spring
// WebFlux, Vert.x, Micronaut sit on it), for tests/bpf/test_real_servers.py:
//   java -cp <jars of pom.xml> NettyServer.java PORT epoll|nio
// One event-loop thread; HttpServerCodec and HttpObjectAggregator.
//   GET  /items/{id}  200 {"id":id}
//   POST /echo        200, the request body back
//   GET  /chunked     200, chunked: 3 chunks of 1000 bytes, flushed apart
//   GET  /fail        500
//   anything else     404
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static io.netty.handler.codec.http.HttpVersion.HTTP_1_1;

public class NettyServer {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        boolean epoll = args.length > 1 && args[1].equals("epoll");
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> type =
            epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
        try {
            new ServerBootstrap().group(group).channel(type)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(),
                                              new HttpObjectAggregator(1 << 20), new Handler());
                    }
                })
                .bind("127.0.0.1", port).sync().channel().closeFuture().sync();
        } finally {
            group.shutdownGracefully();
        }
    }

    static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = req.uri().split("\\?", 2)[0];
            boolean keep = HttpUtil.isKeepAlive(req);
            if (path.equals("/chunked")) {
                chunked(ctx, keep);
                return;
            }
            FullHttpResponse resp;
            if (path.startsWith("/items/")) {
                resp = full(HttpResponseStatus.OK, Unpooled.copiedBuffer(
                    "{\"id\":" + path.substring(7) + "}", StandardCharsets.US_ASCII));
            } else if (path.equals("/echo") && req.method().equals(HttpMethod.POST)) {
                resp = full(HttpResponseStatus.OK, req.content().retainedDuplicate());
            } else if (path.equals("/fail")) {
                resp = full(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                            Unpooled.copiedBuffer("boom\n", StandardCharsets.US_ASCII));
            } else {
                resp = full(HttpResponseStatus.NOT_FOUND, Unpooled.EMPTY_BUFFER);
            }
            HttpUtil.setKeepAlive(resp, keep);
            if (keep) {
                ctx.writeAndFlush(resp);
            } else {
                ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static FullHttpResponse full(HttpResponseStatus status, ByteBuf body) {
            FullHttpResponse r = new DefaultFullHttpResponse(HTTP_1_1, status, body);
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            HttpUtil.setContentLength(r, body.readableBytes());
            return r;
        }

        private static void chunked(ChannelHandlerContext ctx, boolean keep) {
            HttpResponse head = new DefaultHttpResponse(HTTP_1_1, HttpResponseStatus.OK);
            HttpUtil.setTransferEncodingChunked(head, true);
            HttpUtil.setKeepAlive(head, keep);
            ctx.writeAndFlush(head);
            byte[] part = new byte[1000];
            Arrays.fill(part, (byte) 'c');
            for (int i = 0; i < 3; i++) {
                ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(part)));
            }
            if (keep) {
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            } else {
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
                    .addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}

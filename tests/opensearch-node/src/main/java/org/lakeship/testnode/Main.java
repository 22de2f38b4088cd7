package org.lakeship.testnode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * Starts a single, real OpenSearch node for Lakeship's tests, from jars on the classpath.
 *
 * <p>The distribution's {@code bin/opensearch} goes through {@code Bootstrap}, which loads
 * modules from {@code $OPENSEARCH_HOME/modules}, installs a security manager and runs jar-hell and
 * production bootstrap checks. Here, instead, the modules the tests need are handed to the
 * {@link Node} as classpath plugins ({@link OpenSearchLine}), the way OpenSearch's own test framework ({@code MockNode})
 * does, and none of those production checks run. Everything else (REST layer, cluster state,
 * mappings, Lucene) is the unmodified server.
 *
 * <pre>
 * java [jvm flags] -jar lakeship-opensearch-node.jar -E path.home=DIR [-E key=value ...]
 * </pre>
 */
public final class Main {

    /**
     * The modules that {@code bin/opensearch} would load from {@code modules/}, as classpath plugins
     * ({@link OpenSearchLine} is compiled from src/main/opensearch2 or src/main/opensearch3).
     */
    static final List<Class<? extends Plugin>> PLUGINS = OpenSearchLine.MODULES;

    private Main() {}

    public static void main(String[] args) throws Exception {
        final Settings.Builder builder = defaults();
        parseArgs(args, builder);
        final Settings input = builder.build();

        final String home = input.get(Environment.PATH_HOME_SETTING.getKey());
        if (home == null || home.isEmpty()) {
            usage("missing -E path.home=DIR");
        }
        final Path configDir = Paths.get(home).toAbsolutePath().resolve("config");
        installDefaultLoggingConfig(configDir);

        // As org.opensearch.bootstrap.OpenSearch#main and Bootstrap#init do.
        LogConfigurator.registerErrorListener();
        final Environment environment = InternalSettingsPreparer.prepareEnvironment(
            input,
            Collections.emptyMap(),
            configDir,
            () -> "lakeship-node"
        );
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.configure(environment);
        final Logger logger = LogManager.getLogger(Main.class);
        // Like the distribution's OpenSearchUncaughtExceptionHandler: a fatal error in any thread
        // halts the JVM instead of leaving a half-dead node behind.
        Thread.setDefaultUncaughtExceptionHandler((thread, t) -> {
            if (t instanceof Error) {
                logger.error("fatal error in thread [{}], exiting", thread.getName(), t);
                Runtime.getRuntime().halt(1);
            } else {
                logger.error("uncaught exception in thread [{}]", thread.getName(), t);
            }
        });

        final CountDownLatch stopped = new CountDownLatch(1);
        final Node node;
        try {
            node = OpenSearchLine.newNode(environment);
        } catch (Throwable t) {
            fail(logger, "node could not be created", t);
            return;
        }

        // SIGTERM/SIGINT: close the node (flushes and releases the data dir lock), then exit.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            logger.info("shutdown requested, closing node");
            try {
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    logger.warn("node did not close within 20 seconds");
                }
            } catch (IOException e) {
                logger.warn("failed to close node", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                stopped.countDown();
                // log4j's own shutdown hook is disabled (-Dlog4j.shutdownHookEnabled=false) so
                // that the node can log while closing; flush and stop it here, last.
                Configurator.shutdown((LoggerContext) LogManager.getContext(false));
            }
        }, "lakeship-node-shutdown"));

        try {
            node.start();
        } catch (Throwable t) {
            fail(logger, "node failed to start", t);
            return;
        }
        logger.info("lakeship test node started with plugins {}", PLUGINS.stream().map(Class::getSimpleName).toList());

        // Keep the JVM alive (node threads are daemons) until a signal runs the shutdown hook.
        final Thread keepAlive = new Thread(() -> {
            try {
                stopped.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "lakeship-node-keepalive");
        keepAlive.setDaemon(false);
        keepAlive.start();
    }

    private static void fail(Logger logger, String what, Throwable t) {
        logger.error(what, t);
        System.err.println("lakeship-opensearch-node: " + what + ": " + t);
        System.exit(1);
    }

    /** Settings for a disposable, single-node, loopback-only cluster. Every one can be overridden with -E. */
    static Settings.Builder defaults() {
        return Settings.builder()
            .put("cluster.name", "lakeship-test")
            .put("node.name", "lakeship-node")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("http.port", "9200")
            .put("transport.port", "9300")
            // The test bed runs on whatever disk it is given; never go read-only because it is full-ish.
            .put("cluster.routing.allocation.disk.threshold_enabled", "false")
            // No swapping protection or process-wide checks: this is not a production node.
            .put("bootstrap.memory_lock", "false");
    }

    static void parseArgs(String[] args, Settings.Builder builder) {
        for (int i = 0; i < args.length; i++) {
            final String arg = args[i];
            final String kv;
            if (arg.equals("-E")) {
                if (i + 1 >= args.length) {
                    usage("-E needs key=value");
                }
                kv = args[++i];
            } else if (arg.startsWith("-E")) {
                kv = arg.substring(2);
            } else if (arg.equals("-h") || arg.equals("--help")) {
                usage(null);
                return;
            } else {
                usage("unknown argument: " + arg);
                return;
            }
            final int eq = kv.indexOf('=');
            if (eq <= 0) {
                usage("setting must be key=value: " + kv);
            }
            builder.put(kv.substring(0, eq).trim(), kv.substring(eq + 1));
        }
    }

    /** Puts the launcher's log4j2.properties into the node's config dir unless one is already there. */
    static void installDefaultLoggingConfig(Path configDir) throws IOException {
        final Path target = configDir.resolve("log4j2.properties");
        if (Files.exists(target)) {
            return;
        }
        Files.createDirectories(configDir);
        try (InputStream in = Main.class.getResourceAsStream("/lakeship-node-log4j2.properties")) {
            if (in == null) {
                throw new IllegalStateException("lakeship-node-log4j2.properties missing from the launcher jar");
            }
            Files.copy(in, target);
        }
    }

    private static void usage(String error) {
        final String text = String.join(
            System.lineSeparator(),
            "usage: java [jvm flags] -jar lakeship-opensearch-node.jar -E path.home=DIR [-E key=value ...]",
            "  Starts a single-node OpenSearch " + org.opensearch.Version.CURRENT + " with plugins "
                + PLUGINS.stream().map(Class::getSimpleName).toList() + ".",
            "  Defaults (override with -E): " + defaults().build().toString().toLowerCase(Locale.ROOT)
        );
        if (error == null) {
            System.out.println(text);
            System.exit(0);
        }
        System.err.println("lakeship-opensearch-node: " + error);
        System.err.println(text);
        System.exit(2);
    }
}

package org.lakeship.testnode;

import java.util.Collection;
import java.util.List;

import org.opensearch.analysis.common.CommonAnalysisModulePlugin;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasModulePlugin;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessModulePlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginInfo;
import org.opensearch.transport.Netty4ModulePlugin;

/**
 * The OpenSearch 3.x part of the launcher. Against 2.x, the module classes are named
 * {@code *ModulePlugin}, and the {@link Node} takes classpath plugins as {@link PluginInfo}s
 * (as the 3.x test framework's MockNode builds them).
 */
final class OpenSearchLine {

    /** The modules of {@code bin/opensearch}'s {@code modules/} that Lakeship needs. */
    static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4ModulePlugin.class,          // transport-netty4: HTTP + transport
        CommonAnalysisModulePlugin.class,  // analysis-common
        MapperExtrasModulePlugin.class,    // mapper-extras: scaled_float, token_count, rank_feature, ...
        PainlessModulePlugin.class         // lang-painless
        // Not reindex nor ingest-common: Maven Central does not serve them for every 3.x version
        // (not for 3.9.0), and Lakeship uses neither.
    );

    private OpenSearchLine() {}

    static Node newNode(Environment environment) {
        return new TestNode(environment, MODULES.stream().map(OpenSearchLine::classpathPluginInfo).toList());
    }

    private static PluginInfo classpathPluginInfo(Class<? extends Plugin> plugin) {
        return new PluginInfo(
            plugin.getName(),
            "classpath plugin",
            "NA",
            org.opensearch.Version.CURRENT,
            "21",
            plugin.getName(),
            null,
            List.of(),
            false
        );
    }

    /** A {@link Node} built with classpath plugins. */
    private static final class TestNode extends Node {
        TestNode(Environment environment, Collection<PluginInfo> classpathPlugins) {
            super(environment, classpathPlugins, true);
        }
    }
}

package org.lakeship.testnode;

import java.util.Collection;
import java.util.List;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/** The OpenSearch 2.x part of the launcher: module classes and how the {@link Node} takes them. */
final class OpenSearchLine {

    /** The modules that {@code bin/opensearch} would load from {@code modules/}. */
    static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4Plugin.class,          // transport-netty4: HTTP + transport
        CommonAnalysisPlugin.class,  // analysis-common
        MapperExtrasPlugin.class,    // mapper-extras: scaled_float, token_count, rank_feature, ...
        PainlessPlugin.class,        // lang-painless
        ReindexPlugin.class,         // reindex: _reindex, _update_by_query, _delete_by_query
        IngestCommonPlugin.class     // ingest-common: pipeline processors
    );

    private OpenSearchLine() {}

    static Node newNode(Environment environment) {
        return new TestNode(environment, MODULES);
    }

    /** A {@link Node} built with classpath plugins (the constructor the 2.x test framework's MockNode uses). */
    private static final class TestNode extends Node {
        TestNode(Environment environment, Collection<Class<? extends Plugin>> classpathPlugins) {
            super(environment, classpathPlugins, true);
        }
    }
}

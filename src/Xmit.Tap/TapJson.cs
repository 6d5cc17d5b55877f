using System.Text.Json;
using System.Text.Json.Nodes;

namespace Xmit.Tap;

/// <summary>
/// `xmit tap … --json`: what a run would print, gathered as one JSON document instead — the application's results,
/// then the per-layer counters and the books of where every packet went, under the names the text report uses.
/// </summary>
public sealed class TapJson
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public JsonObject Root { get; } = new();

    public JsonNode? this[string key]
    {
        get => Root[key];
        set => Root[key] = value;
    }

    /// <summary>A record or a plain object as a node, in the document's camelCase.</summary>
    public static JsonNode? From<T>(T value) => JsonSerializer.SerializeToNode(value, Options);

    public string Write() => Root.ToJsonString(Options);
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Qwen.Serving.Http;

/// <summary>Who is calling, as far as isolation goes: a hash of the presented API key, never the key itself.</summary>
/// <remarks>
/// Two uses: the prefix-cache scope of a generation (key + OpenAI <c>user</c>, so callers sharing a key can still be
/// kept apart by sending <c>user</c>), and the owner of a chat session or agent run (key only). Hashes are salted
/// with a purpose string so a session owner id cannot be replayed as a cache scope, and are safe to store and log.
/// A keyless loopback caller (standalone server without a key) is one anonymous identity.
/// Behind a front, every request reaches the worker with the one service credential; the front then sends
/// <see cref="ForwardedCallerHeader"/> (a hash of the client's key), which the cache scope mixes in next to the presented
/// key, so clients stay apart on the worker. Mixed in, never substituted: a caller that sets the header itself only
/// splits its own scope, it cannot enter another key's.
/// </remarks>
public static class CallerIdentity
{
    /// <summary>Header a front sets to <see cref="ForwardedCaller"/> of its client (and strips from what the client sent).</summary>
    public const string ForwardedCallerHeader = "x-qwen-caller";

    /// <summary>The opaque caller id a front passes on to the worker: a salted hash of the client's key.</summary>
    public static string ForwardedCaller(HttpContext context) => Hash("front", ApiKeyAuthorizer.PresentedKey(context.Request), null);

    /// <summary>The owner id of sessions and agent runs started by this caller.</summary>
    public static string Owner(HttpContext context) => Hash("owner", ApiKeyAuthorizer.PresentedKey(context.Request), null);

    /// <summary>The prefix-cache scope of this caller's generations (<see cref="Qwen.Inference.Generation.GenerationRequest.CacheScope"/>).</summary>
    public static string CacheScope(HttpContext context, string? user)
    {
        var key = ApiKeyAuthorizer.PresentedKey(context.Request);
        var forwarded = context.Request.Headers[ForwardedCallerHeader].ToString();
        return Hash("cache", forwarded.Length == 0 ? key : $"{key}\n{forwarded}", user);
    }

    private static string Hash(string purpose, string? key, string? user)
    {
        // Length-prefixed parts: ("ab", "c") and ("a", "bc") must not collide.
        var text = $"{purpose.Length}:{purpose}{(key ?? "").Length}:{key}{(user ?? "").Length}:{user}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));
    }
}

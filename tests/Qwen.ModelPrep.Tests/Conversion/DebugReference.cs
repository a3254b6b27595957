using Qwen.ModelPrep.Checkpoints;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>Float64 forward pass straight from spec §3 over a reader's tensors (whole sequence, fixed α).</summary>
internal static class DebugReference
{
    public static double[][] Logits(ICheckpointReader reader, IReadOnlyList<long> tokens, int promptLength)
    {
        var a = reader.Config.Architecture;
        int h = a.HiddenSize, nh = a.NumHeads, d = a.HeadDim, f = a.IntermediateSize, v = a.VocabSize, n = tokens.Count;
        double[] W(string name)
        {
            var info = reader.GetInfo(name);
            var buf = new float[info.ElementCount];
            reader.ReadRows(name, 0, (int)info.Rows, buf);
            return buf.Select(x => (double)x).ToArray();
        }
        double[] Lin(double[] x, double[] w, int outF, int inF)
        {
            var y = new double[outF];
            for (var o = 0; o < outF; o++)
            {
                double s = 0;
                for (var i = 0; i < inF; i++) s += x[i] * w[o * inF + i];
                y[o] = s;
            }
            return y;
        }
        double[] Rms(double[] x, double[] g)
        {
            var ms = x.Select(t => t * t).Average();
            var r = 1 / Math.Sqrt(ms + a.RmsNormEps);
            return x.Select((t, i) => t * r * g[i]).ToArray();
        }
        var alpha = PackageRunner.NtkAlpha(promptLength, a.SeqLength, a.UseDynamicNtk);
        var baseAdj = a.RotaryBase * Math.Pow(alpha, d / (d - 2.0));
        var wte = W("transformer.wte.weight");
        var hs = Enumerable.Range(0, n).Select(t => wte.AsSpan((int)tokens[t] * h, h).ToArray()).ToArray();
        for (var l = 0; l < a.NumLayers; l++)
        {
            var p = $"transformer.h.{l}.";
            var (ln1, cw, cb, cp, ln2, w1, w2, mp) = (W(p + "ln_1.weight"), W(p + "attn.c_attn.weight"), W(p + "attn.c_attn.bias"),
                W(p + "attn.c_proj.weight"), W(p + "ln_2.weight"), W(p + "mlp.w1.weight"), W(p + "mlp.w2.weight"), W(p + "mlp.c_proj.weight"));
            var q = new double[n][]; var k = new double[n][]; var vv = new double[n][];
            for (var t = 0; t < n; t++)
            {
                var qkv = Lin(Rms(hs[t], ln1), cw, 3 * h, h);
                for (var i = 0; i < 3 * h; i++) qkv[i] += cb[i];
                q[t] = qkv[..h]; k[t] = qkv[h..(2 * h)]; vv[t] = qkv[(2 * h)..];
                foreach (var u in new[] { q[t], k[t] })
                {
                    for (var head = 0; head < nh; head++)
                    {
                        for (var i = 0; i < d / 2; i++)
                        {
                            var ang = t * Math.Pow(baseAdj, -2.0 * i / d);
                            double c = Math.Cos(ang), s = Math.Sin(ang);
                            var x1 = u[head * d + i]; var x2 = u[head * d + i + d / 2];
                            u[head * d + i] = x1 * c - x2 * s;
                            u[head * d + i + d / 2] = x2 * c + x1 * s;
                        }
                    }
                }
                var lam = a.UseLognAttn && t + 1 > a.SeqLength ? Math.Log(t + 1) / Math.Log(a.SeqLength) : 1;
                for (var i = 0; i < h; i++) q[t][i] *= lam;
            }
            for (var t = 0; t < n; t++)
            {
                var o = new double[h];
                for (var head = 0; head < nh; head++)
                {
                    var sc = new double[t + 1];
                    for (var j = 0; j <= t; j++)
                    {
                        double s = 0;
                        for (var i = 0; i < d; i++) s += q[t][head * d + i] * k[j][head * d + i];
                        sc[j] = s / Math.Sqrt(d);
                    }
                    var m = sc.Max();
                    var e = sc.Select(x => Math.Exp(x - m)).ToArray();
                    var z = e.Sum();
                    for (var j = 0; j <= t; j++)
                        for (var i = 0; i < d; i++) o[head * d + i] += e[j] / z * vv[j][head * d + i];
                }
                var ao = Lin(o, cp, h, h);
                var h1 = hs[t].Select((x, i) => x + ao[i]).ToArray();
                var xn = Rms(h1, ln2);
                var a1 = Lin(xn, w1, f, h); var a2 = Lin(xn, w2, f, h);
                var g = a1.Select((x, i) => x * a2[i] / (1 + Math.Exp(-a2[i]))).ToArray();
                var mo = Lin(g, mp, h, f);
                hs[t] = h1.Select((x, i) => x + mo[i]).ToArray();
            }
        }
        var lnf = W("transformer.ln_f.weight");
        var lm = W("lm_head.weight");
        return hs.Select(x => Lin(Rms(x, lnf), lm, v, h)).ToArray();
    }
}
